# Shared by the scripts: free loopback ports, a private redis-server, and cleanup by PID.
# shellcheck shell=bash

HAJIB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HAJIB_PIDS=()

# A port the kernel just handed out on 127.0.0.1; the caller binds it right away.
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

cleanup_started() {
  for pid in "${HAJIB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${HAJIB_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  HAJIB_PIDS=()
}

# start_redis DIR -> sets REDIS_PORT; redis-server runs with no persistence, ours alone.
start_redis() {
  local dir="$1"
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --daemonize no >"$dir/redis.log" 2>&1 &
  HAJIB_PIDS+=($!)
  for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis-server did not start: $(tail -5 "$dir/redis.log")" >&2
  return 1
}

# build_tree DIR [cmake args...]: configure once, then build everything.
build_tree() {
  local dir="$1"; shift
  cmake -S "$HAJIB_ROOT" -B "$HAJIB_ROOT/$dir" "$@" >/dev/null
  cmake --build "$HAJIB_ROOT/$dir" -j"$(nproc)" -- --no-print-directory 2>&1 | grep -E 'warning|error|Error' || true
  test -x "$HAJIB_ROOT/$dir/hajib"
}
