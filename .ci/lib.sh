# Helpers shared by .ci/minio.sh and .ci/moto.sh (sourced by them).

# ci_stop_pid PID: asks the process to stop, waits up to 5 s, then kills it.
# Safe when PID is empty or already gone.
ci_stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
