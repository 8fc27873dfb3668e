#!/usr/bin/env bash
# Builds a local Postgres image from the Postgres server binaries installed on this machine, with no registry: the
# image `@testcontainers/postgresql` can start where nothing can be pulled (this repository's CI).
#
#   docker/build-image.sh [TAG] [BINDIR]
#     TAG     default alembic-guard-local/postgres:<major>
#     BINDIR  default the highest /usr/lib/postgresql/*/bin
#
# How: a root filesystem is assembled in a temp dir from the host's Postgres (bin, lib, share), the shared libraries
# `ldd` says they need, the time zone data, a static busybox (from Debian's busybox-static package: its sh, awk, grep,
# cat, nc, setpriv serve the entrypoint and testcontainers' port and health checks) and docker/entrypoint.sh; then
# `docker import` turns the tarball into an image. No FROM, no pull.
#
# The entrypoint honours the official image's contract: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB /
# POSTGRES_INITDB_ARGS / POSTGRES_HOST_AUTH_METHOD / PGDATA, /docker-entrypoint-initdb.d, port 5432, the server run
# as the non-root user `postgres`, and "database system is ready to accept connections" logged twice (the temporary
# init server, then the real one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

bindir="${2:-}"
if [ -z "$bindir" ]; then
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/postgres" ]; then
  echo "build-image.sh: no Postgres server binaries (looked in ${bindir:-/usr/lib/postgresql/*/bin}); apt-get install postgresql" >&2
  exit 1
fi
pgroot="$(dirname "$bindir")"                 # /usr/lib/postgresql/15
major="$(basename "$pgroot")"
sharedir="/usr/share/postgresql/$major"
tag="${1:-alembic-guard-local/postgres:$major}"

work="$(mktemp -d "${TMPDIR:-/tmp}/alembic-guard-image-XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,usr/local/bin,usr/share,var/run/postgresql,var/lib/postgresql/data,docker-entrypoint-initdb.d}
chmod 1777 "$rootfs/tmp"

# Postgres itself, at the same paths (the binaries have their share and lib directories compiled in).
mkdir -p "$rootfs$pgroot" "$rootfs/usr/share/postgresql"
cp -a "$pgroot/." "$rootfs$pgroot/"
cp -a "$sharedir" "$rootfs/usr/share/postgresql/"
cp -a /usr/share/zoneinfo "$rootfs/usr/share/"       # Debian builds Postgres --with-system-tzdata
for tool in "$bindir"/*; do ln -sf "$tool" "$rootfs/usr/local/bin/$(basename "$tool")"; done

# Every shared library the binaries and modules load, and the dynamic loader, at the paths they are asked for. On a
# merged-/usr host /lib and /lib64 are symlinks into /usr: the same links go into the image first.
for link in /lib /lib64; do
  if [ -L "$link" ]; then mkdir -p "$rootfs/$(readlink "$link")"; ln -s "$(readlink "$link")" "$rootfs$link"; fi
done
{
  find "$pgroot" -type f \( -perm -u+x -o -name '*.so' \) -print0 | xargs -0 ldd 2>/dev/null || true
} | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | sort -u | while read -r lib; do
  [ -e "$lib" ] || continue
  real="$(readlink -f "$lib")"
  mkdir -p "$rootfs$(dirname "$real")" "$rootfs$(dirname "$lib")"
  [ -e "$rootfs$real" ] || cp -L "$real" "$rootfs$real"
  [ -e "$rootfs$lib" ] || ln -s "$real" "$rootfs$lib"
done

# A static busybox for the shell tools.
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  (cd "$work" && apt-get download busybox-static >/dev/null 2>&1) || {
    echo "build-image.sh: needs busybox-static: apt-get download busybox-static failed (run apt-get update?)" >&2; exit 1; }
  dpkg -x "$work"/busybox-static_*.deb "$work/busybox"
  busybox="$work/busybox/bin/busybox"
fi
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
mkdir -p "$rootfs/usr/bin" && ln -s /bin/env "$rootfs/usr/bin/env"

# The non-root user the server runs as (uid 70, as in the official alpine variant).
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
postgres:x:70:70:PostgreSQL:/var/lib/postgresql:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
postgres:x:70:
nogroup:x:65534:
GROUP
echo 'hosts: files dns' > "$rootfs/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$rootfs/etc/hosts"
chown -R 70:70 "$rootfs/var/run/postgresql" "$rootfs/var/lib/postgresql"
chmod 3777 "$rootfs/var/run/postgresql"
install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"

tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
docker import \
  --change "ENV PATH=/usr/local/bin:/bin:/usr/bin PGDATA=/var/lib/postgresql/data PG_MAJOR=$major LANG=C.UTF-8 TZ=UTC" \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change 'EXPOSE 5432' \
  --change 'VOLUME /var/lib/postgresql/data' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"
