#!/usr/bin/env bash
# The multi-host test: Linux network namespaces for a balancer, two proxy hosts, Redis with a
# replica and three sentinels, the operators and a customer; faults under traffic (docs/scale.md).
#
#   scripts/multihost.sh          short form (scripts/test.sh runs it; about a minute and a half)
#   scripts/multihost.sh --long   the same story with more traffic and a longer run
#
# `ip netns` needs root; refused, the test runs on loopback addresses and says so. Each feature of issue 11 has a switch, 1 or 0, or "auto" (the
# default: on when the hajib under test accepts its configuration key):
#   HAJIB_MH_SENTINEL=1        Redis master + replica + 3 sentinels (state.sentinels); 0: one plain
#                              Redis, and no Redis kill (a lone Redis killed is when_store_down, the
#                              fault suite's ground, not a failover)
#   HAJIB_MH_PROXY_PROTOCOL=1  haproxy sends the PROXY protocol v2 (listen.proxy_from), and the
#                              account allows only the customer's own address; 0: plain TCP, and
#                              the account must allow the balancer's address
#   HAJIB_MH_DRAIN=1           SIGTERM drains (limits.drain_grace_ms): /readyz must turn 503 before
#                              the exit (haproxy checks it), and no submit may go unanswered; 0:
#                              those sent as the proxy stopped may
# HAJIB_BIN (default build/hajib), HAJIB_MH_KEEP_LOGS=1 keeps the run's directory, HAJIB_MH_NETNS=0
# runs on loopback addresses even where namespaces are allowed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HAJIB_ROOT"

long=0
[[ "${1:-}" == "--long" ]] && long=1
HAJIB_BIN="${HAJIB_BIN:-$HAJIB_ROOT/build/hajib}"
[[ -x "$HAJIB_BIN" ]] || { echo "multihost: no hajib at $HAJIB_BIN (build it first)" >&2; exit 1; }
for tool in haproxy redis-server redis-cli node ip; do
  command -v "$tool" >/dev/null || { echo "multihost: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

run_dir=$(mktemp -d /tmp/hajib-multihost.XXXXXX)
# A prefix of our own for every namespace: only what this run made is touched, even beside
# another run.
prefix="hjmh$$"
names=(sw lb p1 p2 r1 r2 r3 peers)
made=()

cleanup() {
  local status=$?
  set +e
  # The driver ends its own processes by pid; anything still inside one of OUR namespaces is
  # ours too (nothing else runs in them), and goes before the namespace does.
  [[ -n "${driver_pid:-}" ]] && kill "$driver_pid" 2>/dev/null && wait "$driver_pid" 2>/dev/null
  for ns in "${made[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  for ns in "${made[@]}"; do ip netns del "$ns" 2>/dev/null; done
  left=$(ip netns list 2>/dev/null | grep -c "^$prefix-" || true)
  if [[ "$left" != 0 ]]; then echo "multihost: $left namespaces of this run are still there" >&2; status=1; fi
  if [[ "${HAJIB_MH_KEEP_LOGS:-0}" == 1 || $status != 0 ]]; then echo "multihost: logs in $run_dir"; else rm -rf "$run_dir"; fi
  exit $status
}
trap cleanup EXIT INT TERM

# Whether the hajib under test knows a configuration key (a feature merged or not yet).
accepts() {
  local file="$run_dir/probe.yaml"
  printf '%s\n' "$@" >"$file"
  local said
  said=$("$HAJIB_BIN" check --config "$file" --no-resolve 2>&1 || true)
  ! grep -qi "unknown key" <<<"$said"
}
decide() {  # decide VAR probe-lines...: auto -> 1 when accepted
  local var=$1; shift
  local value=${!var:-auto}
  if [[ "$value" == auto ]]; then
    if accepts "$@"; then value=1; else value=0; fi
  fi
  printf -v "$var" '%s' "$value"
  export "${var?}"
}
decide HAJIB_MH_SENTINEL 'state:' '  sentinels: [ "10.77.0.11:26379" ]' '  master: hajib'
decide HAJIB_MH_PROXY_PROTOCOL 'listen:' '  smpp: "0.0.0.0:2775"' '  proxy_from: [ "10.77.0.2/32" ]'
decide HAJIB_MH_DRAIN 'limits:' '  drain_grace_ms: 1000'

# ---- the network: a bridge in a namespace of its own, one veth pair per host ----
# Addresses (10.77.0.0/24 exists only inside these namespaces):
#   lb 10.77.0.2 haproxy   p1 10.77.0.21, p2 10.77.0.22 hajib   r1 10.77.0.11 master + sentinel
#   r2 10.77.0.12 replica + sentinel   r3 10.77.0.13 sentinel   peers 10.77.0.30 operators, .40 customer
declare -A addresses=([lb]="10.77.0.2" [p1]="10.77.0.21" [p2]="10.77.0.22" [r1]="10.77.0.11" [r2]="10.77.0.12"
  [r3]="10.77.0.13" [peers]="10.77.0.30 10.77.0.40")
build_network() {
  for name in "${names[@]}"; do
    ip netns add "$prefix-$name" || return 1
    made+=("$prefix-$name")
    ip -n "$prefix-$name" link set lo up
  done
  local sw="$prefix-sw"
  ip -n "$sw" link add br0 type bridge || return 1
  ip -n "$sw" link set br0 up || return 1
  for name in "${names[@]}"; do
    [[ $name == sw ]] && continue
    # Both ends are made inside the switch's namespace (names there are ours alone), then one moves.
    ip -n "$sw" link add "v-$name" type veth peer name eth0 netns "$prefix-$name" || return 1
    ip -n "$sw" link set "v-$name" master br0 up || return 1
    for a in ${addresses[$name]}; do ip -n "$prefix-$name" addr add "$a/24" dev eth0 || return 1; done
    ip -n "$prefix-$name" link set eth0 up || return 1
  done
}

# HAJIB_MH_NETNS=0 takes the loopback road on purpose (to test it on a machine that allows namespaces).
network_made() {
  if [[ "${HAJIB_MH_NETNS:-1}" == 0 ]]; then echo "HAJIB_MH_NETNS=0 was asked" >"$run_dir/netns.err"; return 1; fi
  build_network 2>"$run_dir/netns.err"
}
if network_made; then
  export HAJIB_MH_NETNS=1 HAJIB_MH_PREFIX="$prefix"
  run=(ip netns exec "$prefix-peers")
else
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!! multihost: this machine refused network namespaces ($(head -1 "$run_dir/netns.err"))."
  echo "!! FALLING BACK TO LOOPBACK ADDRESSES 127.0.0.x: every 'host' shares this machine's stack."
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  export HAJIB_MH_NETNS=0 HAJIB_MH_PREFIX="$prefix"
  run=()
fi

export HAJIB_BIN HAJIB_MH_DIR="$run_dir" HAJIB_MH_LONG="$long"
# The driver (operators, customers, and the orchestration of everything else) runs on the peers host.
"${run[@]}" node test/multihost/run.js &
driver_pid=$!
wait "$driver_pid"
status=$?
driver_pid=
exit $status
