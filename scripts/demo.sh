#!/usr/bin/env bash
# The main job on the bundled example: installs what is missing, builds, starts Redis, three
# simulated operator SMSCs (STC, Mobily, Zain) and Hajib with etc/hajib.yaml, and lets a sample
# customer send a few messages. Then it prints where the NOC looks and runs until Ctrl-C
# (or stops at once with --once).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HAJIB_ROOT"

scripts/install-deps.sh
echo "== building"
build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo

work=$(mktemp -d /tmp/hajib-demo.XXXXXX)
trap 'cleanup_started; rm -rf "$work"' EXIT
start_redis "$work"

# start_sim NAME [options]: an operator SMSC simulator on a free port; sets SIM_PORT.
start_sim() {
  local name="$1"; shift
  build/smsc-sim --listen 127.0.0.1:0 --receipts --receipt-delay-ms 200 "$@" >"$work/$name.out" 2>"$work/$name.log" &
  HAJIB_PIDS+=($!)
  for _ in $(seq 50); do
    SIM_PORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/$name.out")
    [ -n "$SIM_PORT" ] && return 0
    sleep 0.1
  done
  echo "smsc-sim $name did not start" >&2; return 1
}
start_sim stc;                   stc=$SIM_PORT
start_sim mobily;                mobily=$SIM_PORT
start_sim zain --id-format hex;  zain=$SIM_PORT
smpp_port=$(free_port); stats_port=$(free_port)

# The example config, pointed at this run's ports (the committed file keeps its documented ones).
cp -r etc "$work/etc"
sed -i -e "s/127.0.0.1:2775/127.0.0.1:$smpp_port/" -e "s/127.0.0.1:8775/127.0.0.1:$stats_port/" \
  -e "s/127.0.0.1:6379/127.0.0.1:$REDIS_PORT/" -e "s/port: 2776/port: $stc/" -e "s/port: 2777/port: $mobily/" \
  -e "s/port: 2778/port: $zain/" -e "s|/tmp/hajib-audit.log|$work/audit.log|" "$work/etc/hajib.yaml"

echo "== starting hajib --config etc/hajib.yaml (SMSC simulators on $stc, $mobily, $zain; redis on $REDIS_PORT)"
build/hajib --config "$work/etc/hajib.yaml" 2>"$work/hajib.log" &
HAJIB_PIDS+=($!)
for _ in $(seq 100); do
  grep -q 'upstream zain link 1 .* bound\|upstream zain link 0 .* bound' "$work/hajib.log" 2>/dev/null && \
    grep -q 'upstream stc link .* bound' "$work/hajib.log" && grep -q 'upstream mobily link .* bound' "$work/hajib.log" && break
  sleep 0.1
done
grep 'listening' "$work/hajib.log"

echo "== a sample customer sends a few messages"
node scripts/demo-customer.js "$smpp_port"

echo "== the NOC's view"
echo "   stats:   http://127.0.0.1:$stats_port/stats"
echo "   metrics: http://127.0.0.1:$stats_port/metrics"
echo "   health:  http://127.0.0.1:$stats_port/healthz (alive), /readyz (ready for traffic)"
node -e '
  require("http").get(process.argv[1], (r) => { let b = ""; r.on("data", (d) => b += d); r.on("end", () => {
    const s = JSON.parse(b), c = s.counters;
    console.log(`   submits received ${c.submits_received}, relayed ${c.submits_relayed}, refused ${c.submits_refused}; ` +
      `receipts relayed ${c.receipts_relayed}; links bound: ` +
      Object.entries(s.upstreams).map(([n, u]) => `${n} ${u.links_bound}/${u.links_configured}`).join(", "));
  }); });' "http://127.0.0.1:$stats_port/stats"

sleep 0.3  # the audit log is flushed every 250 ms
echo "   audit log ($(wc -l <"$work/audit.log") lines), the refused one:"
grep '"verdict":"reject"' "$work/audit.log" | head -1 | sed 's/^/   /'

if [ "${1:-}" = "--once" ] || [ ! -t 0 ]; then
  echo "== done (proxy log: last lines)"; tail -3 "$work/hajib.log"; exit 0
fi
echo "== hajib is running; Ctrl-C stops everything"
wait "${HAJIB_PIDS[-1]}"
