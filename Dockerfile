# gatehouse: one static binary on an empty (scratch) image, running as a non-root user.
#
# Two ways to build it (docs/stack.md, "Building the image"):
#
#   1. From a binary built on this host; needs no registry at all:
#        scripts/build-image.sh [tag]
#      It builds a static binary (musl, or static glibc when the musl target is missing), copies it
#      to dist/gatehouse and runs: docker build --target from-host -t <tag> .
#
#   2. Everything inside Docker; needs the rust:alpine image from a registry:
#        docker build -t gatehouse .
#
# Both final stages hold the same files and settings. The legacy builder (no BuildKit) builds
# every stage up to the one it is asked for, so `from-host` comes first and cannot fail when
# dist/gatehouse is missing (the glob then matches nothing); scripts/build-image.sh makes sure it
# is there.

# ---- final image from a host-built binary ----
FROM scratch AS from-host
# /tmp (mode 1777, for the health record) and the binary, if scripts/build-image.sh staged it.
COPY docker/rootfs/ dist/gatehous[e] /
# SWAG's PUID/PGID by default, so the proxy-confs gatehouse writes belong to SWAG's user;
# compose sets user: "${PUID}:${PGID}" and adds the Docker socket's group.
USER 1000:1000
ENV GATEHOUSE_SWAG_CONFIG=/config \
    GATEHOUSE_HEALTH_FILE=/tmp/gatehouse.health \
    GATEHOUSE_LISTEN=0.0.0.0:8080
# The status page, /metrics, /healthz and /readyz (GATEHOUSE_LISTEN).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/gatehouse", "health"]
ENTRYPOINT ["/gatehouse"]
CMD ["run"]

# ---- build inside Docker ----
FROM docker.io/library/rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# On Alpine the host target is musl, linked statically by default.
RUN cargo build --release --locked --bin gatehouse \
 && mkdir -p /out/tmp \
 && chmod 1777 /out/tmp \
 && cp target/release/gatehouse /out/gatehouse

# ---- final image built inside Docker (the default target) ----
FROM scratch AS image
COPY --from=build /out/ /
USER 1000:1000
ENV GATEHOUSE_SWAG_CONFIG=/config \
    GATEHOUSE_HEALTH_FILE=/tmp/gatehouse.health \
    GATEHOUSE_LISTEN=0.0.0.0:8080
# The status page, /metrics, /healthz and /readyz (GATEHOUSE_LISTEN).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/gatehouse", "health"]
ENTRYPOINT ["/gatehouse"]
CMD ["run"]
