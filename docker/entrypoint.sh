#!/bin/sh
# The entrypoint of the local test image (docker/build-image.sh): the official postgres image's contract, in busybox sh.
set -eu

# `docker run image -c fsync=off` means `postgres -c fsync=off`.
if [ "${1:-}" != "" ] && [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA

if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
  # As root: prepare the directories (a tmpfs or volume arrives root-owned), then run again as postgres.
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  # `--`: busybox su would otherwise read the server's own `-c name=value` arguments as its -c.
  exec su -p -s /bin/sh -c 'exec "$0" "$@"' -- postgres "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
    echo '       Set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust.' >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
  initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C ${POSTGRES_INITDB_ARGS:-}
  rm -f "$pwfile"
  printf "\nhost all all all %s\n" "$auth" >> "$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"

  # A temporary server on the Unix socket only, with the same settings as the real one, for the setup below.
  shift
  PGUSER="$user" PGPASSWORD="${POSTGRES_PASSWORD:-}"
  export PGUSER PGPASSWORD
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses= -p 5432 $*" start
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname postgres -q -c "CREATE DATABASE \"$db\""
  fi
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sh) echo "running $script"; . "$script" ;;
      *.sql) echo "running $script"; psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname "$db" -f "$script" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
  set -- postgres "$@"
fi

exec "$@"
