#!/usr/bin/env bash
# Builds the gatehouse image from a static binary compiled on this host: no registry needed.
#
#   scripts/build-image.sh [tag]          default tag: gatehouse:local
#
# The binary is static so it runs on an empty (scratch) image:
#   - x86_64-unknown-linux-musl when that Rust target is installed (rustup target add
#     x86_64-unknown-linux-musl); musl reads /etc/resolv.conf and /etc/hosts itself, so names on
#     Docker networks resolve through Docker's DNS;
#     crates with C parts (ring) also need a musl C compiler (apt-get install musl-tools);
#   - otherwise, or when the musl build fails, static glibc (x86_64-unknown-linux-gnu,
#     -C target-feature=+crt-static). Checked with glibc 2.36 (Debian 12): it resolves container
#     names on a user-defined network from a scratch image too.
# Set GATEHOUSE_BUILD_TARGET=musl or GATEHOUSE_BUILD_TARGET=gnu to choose.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-gatehouse:local}

# Run from `cargo test` (tests/docker_image.rs), this script inherits the variables cargo sets for
# the test process (CARGO_MANIFEST_DIR, CARGO_PKG_*, CARGO_BIN_EXE_*, OUT_DIR, ...). Build scripts
# (ring's, through cc-rs) ask to be rerun when such variables change, so the nested build would
# compile ring and gatehouse again on every run. Drop them: the build then sees the same
# environment as from a shell, and a second run reuses target/.
while IFS= read -r var; do
    unset "$var"
done < <(compgen -e | grep -E '^(CARGO_(MANIFEST_|PKG_|CRATE_|BIN_|PRIMARY_PACKAGE|TARGET_TMPDIR|RUSTC_CURRENT_DIR)|OUT_DIR$|CARGO$|__CARGO)' || true)
musl=x86_64-unknown-linux-musl
gnu=x86_64-unknown-linux-gnu
sysroot=$(rustc --print sysroot)

build_musl() {
    # Crates with C parts (ring, for rustls) need a C compiler for musl: cc-rs looks for
    # x86_64-linux-musl-gcc (Debian's musl-tools has it); fall back to a plain musl-gcc.
    if ! command -v x86_64-linux-musl-gcc >/dev/null && command -v musl-gcc >/dev/null; then
        export CC_x86_64_unknown_linux_musl=${CC_x86_64_unknown_linux_musl:-musl-gcc}
    fi
    cargo build --release --locked --bin gatehouse --target "$musl"
}
build_gnu() {
    # --target keeps build scripts and proc macros dynamic; only gatehouse itself is static.
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
        cargo build --release --locked --bin gatehouse --target "$gnu"
}

choice=${GATEHOUSE_BUILD_TARGET:-}
case "$choice" in
    musl)
        [ -d "$sysroot/lib/rustlib/$musl" ] || { echo "the $musl target is not installed: rustup target add $musl" >&2; exit 1; }
        build_musl; triple=$musl ;;
    gnu)
        build_gnu; triple=$gnu ;;
    "")
        if [ -d "$sysroot/lib/rustlib/$musl" ] && build_musl; then
            choice=musl; triple=$musl
        else
            echo "note: no musl build (target or musl C compiler missing); building static glibc instead" >&2
            build_gnu; choice=gnu; triple=$gnu
        fi ;;
    *) echo "GATEHOUSE_BUILD_TARGET must be musl or gnu, not $choice" >&2; exit 1 ;;
esac

bin=target/$triple/release/gatehouse
# A dynamic binary has a program interpreter (PT_INTERP) and cannot start on scratch.
if command -v readelf >/dev/null; then
    if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
        echo "$bin is dynamically linked; it would not start on a scratch image" >&2
        exit 1
    fi
else
    echo "note: readelf not found; not checking that $bin is static" >&2
fi

mkdir -p dist
install -m 0755 "$bin" dist/gatehouse
chmod 1777 docker/rootfs/tmp
docker build --quiet --target from-host --tag "$tag" . >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "built $tag from $triple ($choice): image $size bytes, binary $(stat -c %s dist/gatehouse) bytes"
