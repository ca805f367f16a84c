#!/usr/bin/env bash
# .ci/moto.sh -- a real moto_server (an independent implementation of S3,
# CloudWatch Logs, SNS, SQS, KMS, ...) for the integration tests of
# sink/cwlogsink and notify.
#
# Source it from .ci/run (or a shell) and use its functions:
#
#   source .ci/moto.sh
#   moto_start             # starts moto_server on 127.0.0.1, exports env
#   trap moto_stop EXIT    # stops it by PID
#   go test -race ./...
#
# or run a command with a server around it:
#
#   bash .ci/moto.sh run -- go test -race ./sink/cwlogsink/... ./notify/...
#
# moto_start exports, for the tests (internal/mototest reads them):
#   TRAIL_TEST_MOTO_ENDPOINT  http://127.0.0.1:<port>
#
# Environment (all optional):
#   TRAIL_MOTO_PORT     listen on this port instead of a free one
#   TRAIL_MOTO_PYTHON   the python to run moto with (default: python3 if it
#                       has moto[server], else a cached virtualenv)
#   TRAIL_CI_CACHE      cache directory outside the repo
#                       (default ${XDG_CACHE_HOME:-$HOME/.cache}/trail-ci)
#
# Idempotent: a second moto_start while a server of this shell runs is a
# no-op, and a TRAIL_TEST_MOTO_ENDPOINT that already answers is reused (and
# not stopped by moto_stop). moto (>=5.2,<5.3) is pip-installed, into
# $TRAIL_CI_CACHE/moto-venv, only when python3 has no moto server (see
# moto_install). Everything listens on 127.0.0.1 only. The server keeps its state in memory: tests use unique
# resource names, so packages may share one server.

MOTO_PID=""
MOTO_LOG=""
MOTO_OWNED=0
MOTO_PYTHON=""
TRAIL_CI_CACHE="${TRAIL_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/trail-ci}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_moto_log() { echo "ci/moto: $*" >&2; }

# _moto_has PYTHON: 0 when PYTHON can run moto's server.
_moto_has() { "$1" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1; }

# _moto_free_port prints a free TCP port on 127.0.0.1.
_moto_free_port() {
  "${MOTO_PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _moto_up URL: 0 when moto's API answers at URL.
_moto_up() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$1/moto-api/" 2>/dev/null
  else
    wget -q -O /dev/null -T 2 "$1/moto-api/" 2>/dev/null
  fi
}

# moto_install sets MOTO_PYTHON to a python that has moto's server:
# TRAIL_MOTO_PYTHON (pip-installing moto into it when it lacks it), else
# python3 when it has moto, else a virtualenv in the cache outside the repo
# ($TRAIL_CI_CACHE/moto-venv, created and filled once with
# moto[server]>=5.2,<5.3; it needs python3's venv module).
moto_install() {
  local venv="$TRAIL_CI_CACHE/moto-venv"
  if [ -n "${TRAIL_MOTO_PYTHON:-}" ]; then
    MOTO_PYTHON="$TRAIL_MOTO_PYTHON"
    _moto_has "$MOTO_PYTHON" && return 0
    _moto_log "installing moto[server]>=5.2,<5.3 into $MOTO_PYTHON"
    "$MOTO_PYTHON" -m pip install -q 'moto[server]>=5.2,<5.3' >&2 && _moto_has "$MOTO_PYTHON"
    return
  fi
  for MOTO_PYTHON in python3 "$venv/bin/python"; do
    _moto_has "$MOTO_PYTHON" && return 0
  done
  _moto_log "installing moto[server]>=5.2,<5.3 into $venv (once)"
  mkdir -p "$TRAIL_CI_CACHE" &&
    { [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2; } &&
    "$venv/bin/python" -m pip install -q 'moto[server]>=5.2,<5.3' >&2 &&
    _moto_has "$venv/bin/python" || {
      _moto_log "cannot install moto (pip's output above; a venv needs Debian's python3-venv):" \
        "run python3 -m pip install 'moto[server]>=5.2,<5.3', or set TRAIL_MOTO_PYTHON to a python that has it"
      return 1
    }
  MOTO_PYTHON="$venv/bin/python"
}

# moto_start starts a server (unless one of this shell runs, or
# TRAIL_TEST_MOTO_ENDPOINT answers), waits until it answers, and exports
# TRAIL_TEST_MOTO_ENDPOINT. Stop it with moto_stop.
moto_start() {
  if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    return 0
  fi
  if [ -n "${TRAIL_TEST_MOTO_ENDPOINT:-}" ] && _moto_up "$TRAIL_TEST_MOTO_ENDPOINT"; then
    _moto_log "reusing moto_server at $TRAIL_TEST_MOTO_ENDPOINT"
    return 0
  fi
  moto_install || { _moto_log "cannot install moto"; return 1; }
  local port i ok
  MOTO_LOG="$(mktemp /tmp/trail-moto.XXXXXX.log)" || return 1
  for i in 1 2 3; do
    port="${TRAIL_MOTO_PORT:-$(_moto_free_port)}" || { _moto_log "no free port"; return 1; }
    # python -m moto.server is moto_server without a shim in between, so
    # MOTO_PID is the server's own PID.
    "$MOTO_PYTHON" -m moto.server -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
    MOTO_PID=$!
    ok=0
    for _ in $(seq 1 300); do # up to 30 s (python imports are slow on a busy machine)
      kill -0 "$MOTO_PID" 2>/dev/null || break
      if _moto_up "http://127.0.0.1:$port"; then
        ok=1; break
      fi
      sleep 0.1
    done
    if [ "$ok" = 1 ]; then
      export TRAIL_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
      MOTO_OWNED=1
      _moto_log "moto_server pid $MOTO_PID at $TRAIL_TEST_MOTO_ENDPOINT (log $MOTO_LOG)"
      return 0
    fi
    _moto_log "moto_server did not answer (attempt $i); its log:"
    tail -n 20 "$MOTO_LOG" >&2 || true
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  done
  rm -f "$MOTO_LOG"; MOTO_LOG=""
  return 1
}

# moto_stop stops the server started by moto_start (by its PID). Safe to
# call more than once, or when none runs; a reused server is left running.
moto_stop() {
  ci_stop_pid "$MOTO_PID"
  MOTO_PID=""
  if [ -n "$MOTO_LOG" ]; then
    rm -f "$MOTO_LOG"
    MOTO_LOG=""
  fi
  if [ "$MOTO_OWNED" = 1 ]; then
    unset TRAIL_TEST_MOTO_ENDPOINT
    MOTO_OWNED=0
  fi
}

# Executed rather than sourced: a small CLI.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  case "${1:-}" in
    install) moto_install ;;
    run)
      shift; [ "${1:-}" = "--" ] && shift
      [ $# -gt 0 ] || { echo "usage: $0 run -- COMMAND..." >&2; exit 2; }
      trap moto_stop EXIT
      trap 'exit 130' INT TERM
      moto_start || exit 3
      "$@"
      ;;
    *) echo "usage: $0 install | run -- COMMAND...   (or: source $0; moto_start; trap moto_stop EXIT)" >&2; exit 2 ;;
  esac
fi
