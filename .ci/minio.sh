#!/usr/bin/env bash
# .ci/minio.sh -- a real MinIO server for the S3 integration tests.
#
# Source it from .ci/run (or a shell) and use its functions:
#
#   source .ci/minio.sh
#   minio_start            # builds MinIO once (cached), starts it, exports env
#   trap minio_stop EXIT   # stops it by PID and removes its data dir
#   go test -race ./...
#
# or run a command with a server around it:
#
#   bash .ci/minio.sh build             # only build/cache the binary
#   bash .ci/minio.sh run -- go test ./sink/s3sink/...
#
# minio_start exports, for the tests:
#   TRAIL_TEST_S3_ENDPOINT  http://127.0.0.1:<port>
#   TRAIL_TEST_S3_ACCESS_KEY, TRAIL_TEST_S3_SECRET_KEY  the root credentials
#   CT_HARNESS_ACCESS_KEY, CT_HARNESS_SECRET_KEY        same, for internal/ctoracle/validate_logs.py
#   TRAIL_TEST_S3_KMS_KEY_ID  name of the server's static KMS key (SSE-KMS)
#
# Environment (all optional):
#   MINIO_ROOT_USER / MINIO_ROOT_PASSWORD  credentials (default minioadmin)
#   MINIO_KMS_SECRET_KEY  "name:base64-32-bytes" static KMS key (default: a
#                    random key named trail-test-key)
#   TRAIL_CI_CACHE   cache directory outside the repo
#                    (default ${XDG_CACHE_HOME:-$HOME/.cache}/trail-ci)
#   TRAIL_MINIO_BIN  use this minio binary instead of building one
#
# Idempotent: the binary is built only when missing (about 3.5 minutes and
# 144 MiB on a 2-core machine); a second minio_start while a server of this
# shell runs is a no-op. Everything listens on 127.0.0.1 only.

MINIO_VERSION="${TRAIL_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
TRAIL_CI_CACHE="${TRAIL_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/trail-ci}"
MINIO_PID=""
MINIO_DATA=""

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_minio_log() { echo "ci/minio: $*" >&2; }

# minio_bin prints the path of the cached binary.
minio_bin() {
  if [ -n "${TRAIL_MINIO_BIN:-}" ]; then
    echo "$TRAIL_MINIO_BIN"
  else
    echo "$TRAIL_CI_CACHE/bin/minio-$MINIO_VERSION"
  fi
}

# minio_build builds MinIO into the cache unless it is there already. The
# binary is built into a temporary directory and renamed into place, so an
# interrupted build never leaves a half-written binary behind.
minio_build() {
  local bin tmp t0
  bin="$(minio_bin)"
  if [ -x "$bin" ]; then
    return 0
  fi
  if [ -n "${TRAIL_MINIO_BIN:-}" ]; then
    _minio_log "TRAIL_MINIO_BIN=$TRAIL_MINIO_BIN is not executable"
    return 1
  fi
  mkdir -p "$TRAIL_CI_CACHE/bin" || return 1
  tmp="$(mktemp -d "$TRAIL_CI_CACHE/build.XXXXXX")" || return 1
  t0=$(date +%s)
  _minio_log "building github.com/minio/minio@$MINIO_VERSION (takes a few minutes, once)"
  # Run outside any module so that the repo's go.mod plays no part.
  if ! (cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$tmp" \
        go install "github.com/minio/minio@$MINIO_VERSION") >"$tmp/build.log" 2>&1; then
    _minio_log "build failed:"; tail -n 40 "$tmp/build.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  mv -f "$tmp/minio" "$bin" && rm -rf "$tmp" || return 1
  _minio_log "built $bin in $(( $(date +%s) - t0 ))s"
}

# _minio_free_port prints a free TCP port on 127.0.0.1.
_minio_free_port() {
  local p i
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return 0
  fi
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

# _minio_http_ok URL: 0 when URL answers 200.
_minio_http_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    wget -q -O /dev/null -T 2 "$1" 2>/dev/null
  fi
}

# minio_start builds (if needed) and starts a server, waits until it is
# live, and exports the test environment. Stop it with minio_stop.
minio_start() {
  if [ -n "$MINIO_PID" ] && kill -0 "$MINIO_PID" 2>/dev/null; then
    return 0
  fi
  minio_build || return 1
  local port cport i log
  export MINIO_ROOT_USER="${MINIO_ROOT_USER:-minioadmin}"
  export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-minioadmin}"
  # A static KMS key, so that SSE-S3 and SSE-KMS (key ID "trail-test-key")
  # work as on AWS; random per server, like its data.
  local kms="${MINIO_KMS_SECRET_KEY:-trail-test-key:$(head -c 32 /dev/urandom | base64)}"
  MINIO_DATA="$(mktemp -d /tmp/trail-minio.XXXXXX)" || return 1
  log="$MINIO_DATA.log"
  for i in 1 2 3; do
    port="$(_minio_free_port)" && cport="$(_minio_free_port)" || { _minio_log "no free port"; return 1; }
    [ "$port" != "$cport" ] || continue
    MINIO_BROWSER=off MINIO_UPDATE=off MINIO_KMS_SECRET_KEY="$kms" \
      "$(minio_bin)" server "$MINIO_DATA/data" --quiet \
      --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" >"$log" 2>&1 &
    MINIO_PID=$!
    # Up to 60 s for liveness, then readiness (a fresh data dir formats first).
    local ok=0
    for _ in $(seq 1 600); do
      if ! kill -0 "$MINIO_PID" 2>/dev/null; then break; fi
      if _minio_http_ok "http://127.0.0.1:$port/minio/health/live" &&
         _minio_http_ok "http://127.0.0.1:$port/minio/health/ready"; then
        ok=1; break
      fi
      sleep 0.1
    done
    if [ "$ok" = 1 ]; then
      export TRAIL_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
      export TRAIL_TEST_S3_ACCESS_KEY="$MINIO_ROOT_USER"
      export TRAIL_TEST_S3_SECRET_KEY="$MINIO_ROOT_PASSWORD"
      export CT_HARNESS_ACCESS_KEY="$MINIO_ROOT_USER"
      export CT_HARNESS_SECRET_KEY="$MINIO_ROOT_PASSWORD"
      export TRAIL_TEST_S3_KMS_KEY_ID="${kms%%:*}"
      _minio_log "MinIO pid $MINIO_PID at $TRAIL_TEST_S3_ENDPOINT (console 127.0.0.1:$cport, data $MINIO_DATA)"
      return 0
    fi
    _minio_log "MinIO did not become ready (attempt $i); its log:"
    tail -n 20 "$log" >&2 || true
    kill "$MINIO_PID" 2>/dev/null || true
    wait "$MINIO_PID" 2>/dev/null || true
    MINIO_PID=""
  done
  rm -rf "$MINIO_DATA" "$log"; MINIO_DATA=""
  return 1
}

# minio_stop stops the server started by minio_start (by its PID) and
# removes its data. Safe to call more than once, or when none runs.
minio_stop() {
  ci_stop_pid "$MINIO_PID"
  MINIO_PID=""
  if [ -n "$MINIO_DATA" ]; then
    rm -rf "$MINIO_DATA" "$MINIO_DATA.log"
    MINIO_DATA=""
  fi
  unset TRAIL_TEST_S3_ENDPOINT
}

# Executed rather than sourced: a small CLI.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  case "${1:-}" in
    build) minio_build ;;
    run)
      shift; [ "${1:-}" = "--" ] && shift
      [ $# -gt 0 ] || { echo "usage: $0 run -- COMMAND..." >&2; exit 2; }
      trap minio_stop EXIT
      trap 'exit 130' INT TERM
      minio_start || exit 3
      "$@"
      ;;
    *) echo "usage: $0 build | run -- COMMAND...   (or: source $0; minio_start; trap minio_stop EXIT)" >&2; exit 2 ;;
  esac
fi
