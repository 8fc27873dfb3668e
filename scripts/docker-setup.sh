#!/usr/bin/env bash
# Sets up (or tears down) a Docker engine and a local Postgres image for the tests that start real containers.
#
#   scripts/docker-setup.sh start ENVFILE   install docker.io if missing, start dockerd if nothing answers, build the
#                                           image (docker/build-image.sh; nothing is pulled), write the variables the
#                                           tests need to ENVFILE (source it)
#   scripts/docker-setup.sh stop            stop the dockerd this script started (and only that one)
#
# The dockerd started here listens on its own socket, not /var/run/docker.sock, and only the tests that mean to use
# it get it (ALEMBIC_GUARD_DOCKER_HOST, passed on as DOCKER_HOST): the rest of the suite keeps seeing a machine
# without Docker, where `--database auto` means local binaries. An engine that already answers is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
PIDFILE="${TMPDIR:-/tmp}/alembic-guard-dockerd.pid"
LOG="${TMPDIR:-/tmp}/alembic-guard-dockerd.log"
SOCKET=/run/alembic-guard-docker.sock

case "${1:-}" in
  start)
    envfile="${2:?usage: docker-setup.sh start ENVFILE}"
    if ! command -v dockerd >/dev/null 2>&1; then
      echo "installing docker.io" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    host=""
    if ! docker info >/dev/null 2>&1; then
      host="unix://$SOCKET"
      export DOCKER_HOST="$host"
      if ! docker info >/dev/null 2>&1; then
        echo "starting dockerd on $SOCKET (log: $LOG)" >&2
        dockerd -H "$host" >"$LOG" 2>&1 &
        echo $! >"$PIDFILE"
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
        docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 30 s; last lines of $LOG:" >&2; tail -n 20 "$LOG" >&2; exit 1; }
      fi
    fi
    image="$(docker/build-image.sh)"
    cat >"$envfile" <<ENV
export ALEMBIC_GUARD_DOCKER_TESTS=1
export ALEMBIC_GUARD_DOCKER_HOST=${host:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
export ALEMBIC_GUARD_TEST_POSTGRES_IMAGE=$image
export TESTCONTAINERS_RYUK_DISABLED=true
ENV
    echo "docker ready; image $image" >&2
    ;;
  stop)
    if [ -f "$PIDFILE" ]; then
      pid="$(cat "$PIDFILE")"
      # Containers a crashed test left behind go with the engine's state; stop the engine itself.
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
    fi
    ;;
  *)
    echo "usage: scripts/docker-setup.sh start ENVFILE | stop" >&2
    exit 2
    ;;
esac
