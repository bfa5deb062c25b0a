#!/usr/bin/env bash
# Soak: steady traffic with receipts through hajib into Redis, sampling what grows (Redis memory
# and keys, hajib's RSS, the in-process receipt table) every few seconds, so that "flat once
# receipts flow" is measured, not argued. Fails loudly when a sample cannot be taken.
# Usage: scripts/soak.sh [--rate 20000] [--seconds 180] [--receipt-delay-ms 1000] [--every 10]
set -uo pipefail

rate=20000 seconds=180 receipt_delay_ms=1000 every=10
while (($#)); do
  case "$1" in
    --rate) rate=$2 ;;
    --seconds) seconds=$2 ;;
    --receipt-delay-ms) receipt_delay_ms=$2 ;;
    --every) every=$2 ;;
    *) echo "usage: $0 [--rate R] [--seconds S] [--receipt-delay-ms MS] [--every S]" >&2; exit 2 ;;
  esac
  shift 2
done

source "$(dirname "$0")/lib.sh"
cd "$HAJIB_ROOT"
trap cleanup_started EXIT
tmp=$(mktemp -d /tmp/hajib-soak.XXXXXX)
fail() { echo "soak: $*" >&2; exit 1; }

build_tree build-bench -DCMAKE_BUILD_TYPE=Release || fail "build failed"
bin=build-bench

start_redis "$tmp" || fail "redis-server did not start"
"$bin/smsc-sim" --listen 127.0.0.1:0 --receipts --receipt-delay-ms "$receipt_delay_ms" >"$tmp/sim.out" 2>"$tmp/sim.err" &
HAJIB_PIDS+=($!)
for _ in $(seq 50); do grep -q '^listening ' "$tmp/sim.out" && break; sleep 0.1; done
sim_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$tmp/sim.out")
[ -n "$sim_port" ] || fail "smsc-sim did not start: $(cat "$tmp/sim.err")"

hash=$(printf "%s\n" soakpw | "$bin/hajib" passwd | tail -1)
cat >"$tmp/hajib.yaml" <<EOF
listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: { redis: "redis://127.0.0.1:$REDIS_PORT/0", receipt_buckets: 4096 }
limits: { customer_window: 1000 }
upstreams:
  stc: { host: 127.0.0.1, port: $sim_port, system_id: hajib, password: pw, sessions: 4, window: 1000 }
routes: { prefixes: { "9665": stc } }
accounts:
  soak: { password_hash: "$hash", allow_ips: [ "127.0.0.0/8" ], max_binds: 16, window: 1000,
          entity: private, senders: { ACME: service } }
EOF
"$bin/hajib" --config "$tmp/hajib.yaml" >"$tmp/hajib.out" 2>"$tmp/hajib.err" &
hajib_pid=$!
HAJIB_PIDS+=("$hajib_pid")
for _ in $(seq 100); do grep -q ' daemon: listening smpp=' "$tmp/hajib.err" && break; sleep 0.1; done
line=$(grep -m1 ' daemon: listening smpp=' "$tmp/hajib.err") || fail "hajib did not start: $(tail -3 "$tmp/hajib.err")"
smpp_port=$(sed -n 's/.*smpp=127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
stats_port=$(sed -n 's/.*stats=127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
sleep 1

"$bin/smpp-load" --host 127.0.0.1 --port "$smpp_port" --system-id soak --password soakpw --bind transceiver \
  --connections 4 --window 250 --rate "$rate" --duration "$seconds" --registered-delivery 1 --source ACME \
  --dest 966501234567 --text "soak message with a receipt" >"$tmp/load.out" 2>"$tmp/load.err" &
load_pid=$!
HAJIB_PIDS+=("$load_pid")

sample() {
  local mem keys rss held stats
  mem=$(redis-cli -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  keys=$(redis-cli -p "$REDIS_PORT" dbsize)
  rss=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$hajib_pid/status" 2>/dev/null)
  stats=$(curl -fsS "http://127.0.0.1:$stats_port/stats" 2>/dev/null)
  held=$(sed -n 's/.*"receipt_mappings_held":\([0-9]*\).*/\1/p' <<<"$stats")
  relayed=$(sed -n 's/.*"submits_relayed":\([0-9]*\).*/\1/p' <<<"$stats")
  receipts=$(sed -n 's/.*"receipts_relayed":\([0-9]*\).*/\1/p' <<<"$stats")
  [ -n "$mem" ] && [ -n "$keys" ] && [ -n "$rss" ] && [ -n "$held" ] || fail "a sample could not be taken at ${1}s"
  printf '%6s %14s %10s %14s %12s %12s %14s\n' "$1" "$((mem / 1024))" "$keys" "$((rss / 1024))" "$held" "$relayed" "$receipts"
}

printf '%6s %14s %10s %14s %12s %12s %14s\n' "t (s)" "Redis KiB" "keys" "hajib RSS MiB" "map held" "relayed" "receipts"
start=$(date +%s)
while kill -0 "$load_pid" 2>/dev/null; do
  sample "$(($(date +%s) - start))"
  sleep "$every"
done
sleep $(((receipt_delay_ms + 2999) / 1000))
sample "$(($(date +%s) - start))"
echo "smpp-load: $(tail -1 "$tmp/load.out")"
grep -q '"ok"' "$tmp/load.out" || fail "smpp-load printed no result: $(tail -3 "$tmp/load.err")"
rm -rf "$tmp"
