#!/bin/bash
# PostgreSQL 15 (Debian's) for compose, CI and the dev overlay.
# First start: initdb with the `parley` superuser (password from
# PARLEY_PG_PASSWORD or PARLEY_PG_PASSWORD_FILE, scram-sha-256 over TCP) and
# the `parley` database. Every start: run postgres in the foreground with
# Parley's durability settings (synchronous_commit=on, fsync=on).
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
pw=${PARLEY_PG_PASSWORD:-}
if [ -z "$pw" ] && [ -n "${PARLEY_PG_PASSWORD_FILE:-}" ]; then pw=$(cat "$PARLEY_PG_PASSWORD_FILE"); fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -n "$pw" ] || { echo "postgres: set PARLEY_PG_PASSWORD or PARLEY_PG_PASSWORD_FILE" >&2; exit 1; }
    mkdir -p "$PGDATA"; chmod 0700 "$PGDATA"
    pwfile=$(mktemp); trap 'rm -f "$pwfile"' EXIT
    printf '%s\n' "$pw" > "$pwfile"
    initdb -D "$PGDATA" -U parley --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-instructions
    rm -f "$pwfile"
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    echo "CREATE DATABASE parley" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    echo "postgres: initialised $PGDATA with database parley"
fi
# shellcheck disable=SC2086
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp \
    -c synchronous_commit=on -c fsync=on -c jit=off \
    -c max_connections=${PARLEY_PG_MAX_CONNECTIONS:-200} \
    -c shared_buffers=${PARLEY_PG_SHARED_BUFFERS:-128MB} ${PARLEY_PG_EXTRA_ARGS:-} "$@"
