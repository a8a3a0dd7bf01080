#!/bin/sh
# Builds the tests' PostgreSQL image from Debian's packages, without a registry, and prints its
# tag: debootstrap --variant=minbase bookworm from the mirror in apt's sources, postgresql-15
# installed inside, entrypoint.sh as the entrypoint, `docker import`. The tag and a label carry a
# hash of this script and the entrypoint, so a built image is reused until either changes. A lock
# file keeps test binaries running at the same time from building it twice. The .deb files are
# kept in $GATEHOUSE_TEST_DEB_CACHE (default /var/cache/gatehouse-test-debs) for the next build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hash=$(cat "$here/build.sh" "$here/entrypoint.sh" | sha256sum | cut -c1-12)
tag="gatehouse-test-postgres:$hash"
built() { docker image inspect "$tag" >/dev/null 2>&1; }
if built; then echo "$tag"; exit 0; fi

exec 9>"${TMPDIR:-/tmp}/gatehouse-test-postgres.lock"
flock 9
if built; then echo "$tag"; exit 0; fi

# The first Debian mirror apt uses (one-line or deb822 sources), not the security archive.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  awk '/^deb / { print $2 } /^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
  grep -v -e security -e '^cdrom' | grep -m1 debian || true)
mirror=${mirror:-http://deb.debian.org/debian}
cache=${GATEHOUSE_TEST_DEB_CACHE:-/var/cache/gatehouse-test-debs}
mkdir -p "$cache"
root=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pg-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "building $tag from $mirror (takes a minute)" >&2

debootstrap --variant=minbase --cache-dir="$cache" bookworm "$root" "$mirror" >&2
# No service starts inside the chroot, and no default cluster: the entrypoint makes its own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.d/gatehouse-tests.conf"
cp "$cache"/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
chroot "$root" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends postgresql-15 >&2
cp -n "$root"/var/cache/apt/archives/*.deb "$cache/" 2>/dev/null || true
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
  "$root"/usr/share/man "$root"/usr/share/locale "$root/usr/sbin/policy-rc.d"
install -m 755 "$here/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'EXPOSE 5432' \
  --change "LABEL gatehouse.test.postgres=$hash" \
  - "$tag" >&2
echo "$tag"
