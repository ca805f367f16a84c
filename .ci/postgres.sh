#!/usr/bin/env bash
# A throw-away PostgreSQL server for the history/sqlhistory tests.
#
# Sourced (what .ci/run does):
#
#   source .ci/postgres.sh   # installs Debian's postgresql if missing, starts a
#                            # server, exports TRAIL_TEST_POSTGRES_DSN, and
#                            # stops it when the shell exits (EXIT trap, chained
#                            # to any trap already set); returns 1 (failing a
#                            # `set -e` script) when no server could be started
#
# Run:
#
#   eval "$(bash .ci/postgres.sh start)"    # prints export lines (DSN, data dir)
#   bash .ci/postgres.sh stop "$TRAIL_TEST_POSTGRES_DIR"
#
# The server runs as the postgres user when started by root, listens on
# 127.0.0.1 only, on a free port, with its data directory, socket and log in
# a fresh directory under /tmp that stop removes. Durability is off (fsync,
# synchronous_commit): it is for tests. TRAIL_PG_NO_INSTALL=1 forbids
# installing (the Go tests set it when they start a server themselves).
# Running it again is harmless: every start makes a new server.

trail_pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    echo "$d"
  fi
}

trail_pg_install() {
  if [ -n "$(trail_pg_bindir)" ]; then
    return 0
  fi
  if [ "${TRAIL_PG_NO_INSTALL:-}" = 1 ]; then
    echo "postgres.sh: PostgreSQL is not installed (and TRAIL_PG_NO_INSTALL=1)" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "postgres.sh: PostgreSQL is not installed; run as root to install it" >&2
    return 1
  fi
  echo "postgres.sh: installing postgresql" >&2
  # Keep the package from starting its own cluster service.
  local policy=/usr/sbin/policy-rc.d created=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  local rc=0
  apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || rc=$?
  if [ -n "$created" ]; then rm -f "$policy"; fi
  if [ "$rc" != 0 ] || [ -z "$(trail_pg_bindir)" ]; then
    echo "postgres.sh: installing postgresql failed" >&2
    return 1
  fi
}

# trail_pg_as runs a command as the postgres user when we are root.
trail_pg_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

trail_pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# trail_pg_start starts a server and exports TRAIL_TEST_POSTGRES_DSN and
# TRAIL_TEST_POSTGRES_DIR.
trail_pg_start() {
  trail_pg_install || return 1
  local bin dir port try
  bin=$(trail_pg_bindir)
  dir=$(mktemp -d /tmp/trail-pg.XXXXXX) || return 1
  chmod 700 "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir" || return 1
  fi
  if ! trail_pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
    echo "postgres.sh: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    return 1
  fi
  for try in 1 2 3 4 5 6 7 8; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    trail_pg_port_free "$port" || continue
    if trail_pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null 2>&1; then
      export TRAIL_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
      export TRAIL_TEST_POSTGRES_DIR="$dir"
      echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)" >&2
      return 0
    fi
  done
  echo "postgres.sh: the server did not start:" >&2
  tail -n 20 "$dir/server.log" >&2 2>/dev/null
  rm -rf "$dir"
  return 1
}

# trail_pg_stop stops the server of the given data directory (default: the
# one trail_pg_start exported) and removes the directory.
trail_pg_stop() {
  local dir="${1:-${TRAIL_TEST_POSTGRES_DIR:-}}" bin
  case "$dir" in
  /tmp/trail-pg.*) ;;
  *) return 0 ;;
  esac
  bin=$(trail_pg_bindir)
  if [ -n "$bin" ] && [ -d "$dir/data" ]; then
    trail_pg_as "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  if [ "$dir" = "${TRAIL_TEST_POSTGRES_DIR:-}" ]; then
    unset TRAIL_TEST_POSTGRES_DSN TRAIL_TEST_POSTGRES_DIR
  fi
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start now, stop when the shell exits.
  if trail_pg_start; then
    __trail_pg_prev=$(trap -p EXIT)
    __trail_pg_prev=${__trail_pg_prev#"trap -- '"}
    __trail_pg_prev=${__trail_pg_prev%"' EXIT"}
    # shellcheck disable=SC2064
    trap "trail_pg_stop '$TRAIL_TEST_POSTGRES_DIR'; ${__trail_pg_prev}" EXIT
  else
    echo "postgres.sh: could not start PostgreSQL" >&2
    return 1
  fi
else
  case "${1:-}" in
  start)
    trail_pg_start >&2 || exit 1
    printf 'export TRAIL_TEST_POSTGRES_DSN=%q\nexport TRAIL_TEST_POSTGRES_DIR=%q\n' "$TRAIL_TEST_POSTGRES_DSN" "$TRAIL_TEST_POSTGRES_DIR"
    ;;
  stop)
    trail_pg_stop "${2:-}"
    ;;
  *)
    echo "usage: source .ci/postgres.sh | bash .ci/postgres.sh start | bash .ci/postgres.sh stop DIR" >&2
    exit 2
    ;;
  esac
fi
