#!/usr/bin/env bash
# Benchmark: SMPP throughput and latency direct to smsc-sim, through haproxy (byte relay) and through hajib,
# once with the policy deciding every submit_sm (hajib) and once with `policy: { mode: off }` (hajib-off);
# then policy-bench: compile time and decision rate of a 10,000-account policy.
# Usage: scripts/bench.sh   (from the repo root; writes bench-results.json in the current directory;
# about 5 minutes on 2 cores; leaves nothing else but build-bench/)
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build="$repo/build-bench"
results_json="$PWD/bench-results.json"
tmp=$(mktemp -d /tmp/hajib-bench.XXXXXX)
pids=()

# ---- process bookkeeping: everything we start is recorded and stopped on exit -------------------

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 20); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { printf '%s\n' "$*" >&2; }

# Every cell the report promises and could not measure, with why: printed at the end, and the
# script then exits 1, so that a missing figure is never mistaken for a measured one.
failures=()
cell_failed() {
  failures+=("$1: $2")
  note "NOT MEASURED $1: $2"
}

# After we have waited for a child, forget its PID so that cleanup cannot signal a reused one.
forget_pid() {
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# A loopback port nobody listens on (small race with other processes; fine for a benchmark).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
  done
  return 1
}

# Waits up to $3 seconds for a line matching $2 in file $1; prints the line.
wait_for_line() {
  local file=$1 pattern=$2 seconds=$3 line
  for _ in $(seq $((seconds * 10))); do
    line=$(grep -m1 -E "$pattern" "$file" 2>/dev/null) && { echo "$line"; return 0; }
    sleep 0.1
  done
  return 1
}

# JSON field from one flat line of smpp-load output.
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1" | tr -d '"'; }
errors_of() { sed -n 's/.*"errors":{\([^}]*\)}.*/\1/p' <<<"$1"; }

cpu_ticks() { awk '{print $14 + $15}' <(sed 's/.*) //; s/^/x x /' "/proc/$1/stat") 2>/dev/null; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }

# ---- build ------------------------------------------------------------------------------------

build_tools() {
  note "building Release tree in build-bench/ ..."
  if cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 &&
     cmake --build "$build" -j"$(nproc)" --target smsc-sim smpp-load alloc-counter >>"$tmp/cmake.log" 2>&1; then
    hajib_built=0
    cmake --build "$build" -j"$(nproc)" --target hajib >"$tmp/cmake-hajib.log" 2>&1 && hajib_built=1
    ((hajib_built)) || hajib_build_error=$(grep -m1 -E 'error' "$tmp/cmake-hajib.log")
    policy_bench_built=0
    cmake --build "$build" -j"$(nproc)" --target policy-bench >>"$tmp/cmake.log" 2>&1 && policy_bench_built=1
    return 0
  fi
  # The proxy tree may not compile yet: build the two tools alone so the other rows still run.
  note "cmake build failed (see below); compiling smsc-sim and smpp-load directly"
  tail -5 "$tmp/cmake.log" >&2
  mkdir -p "$build"
  local t
  for t in smsc_sim:smsc-sim loadgen:smpp-load; do
    # shellcheck disable=SC2046  # the smpp/ sources and pkg-config's flags are meant to split
    g++ -std=c++20 -O2 -DNDEBUG -Wall -Wextra -I"$repo" "$repo/test/sim/${t%%:*}.cc" "$repo"/smpp/*.cc \
      $(pkg-config --cflags --libs libuv libsmpp34 icu-uc) -o "$build/${t##*:}" || { note "cannot build ${t##*:}"; exit 1; }
  done
  hajib_built=0
  policy_bench_built=0
}

# ---- services -----------------------------------------------------------------------------------

start_sim() {
  "$build/smsc-sim" --listen 127.0.0.1:0 >"$tmp/sim.out" 2>"$tmp/sim.err" &
  pids+=($!)
  local line
  line=$(wait_for_line "$tmp/sim.out" '^listening ' 5) || { note "smsc-sim did not start"; exit 1; }
  sim_port=${line##*:}
}

start_redis() {
  redis_port=$(free_port) || { note "no free port for redis"; return 1; }
  mkdir -p "$tmp/redis"
  (cd "$tmp/redis" && exec redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no >"$tmp/redis.log" 2>&1) &
  pids+=($!)
  wait_for_line "$tmp/redis.log" 'Ready to accept connections' 5 >/dev/null
}

start_haproxy() {
  haproxy_port=$(free_port) || { note "no free port for haproxy"; return 1; }
  # One thread, like hajib's single event loop, so the two relays are compared on equal terms.
  cat >"$tmp/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
listen smpp
  bind 127.0.0.1:$haproxy_port
  server sim 127.0.0.1:$sim_port
EOF
  haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do
    [ -n "$(ss -Htln "sport = :$haproxy_port" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  note "haproxy did not start: $(tail -3 "$tmp/haproxy.log")"
  return 1
}

# Starts hajib with the policy enforced (mode enforce: the defaults decide every submit_sm) or off
# (mode off: the relay core alone), each with its own Redis database. Sets hajib_pid and hajib_port,
# or hajib_note and status 1. Modes pair1 and pair2 are two enforcing processes that share the SMPP
# port $2 with SO_REUSEPORT (and one Redis database, as instances of one deployment do).
start_hajib() {
  local mode=$1 smpp_port=${2:-0} db=0
  [ "$mode" = off ] && db=1
  [ "$mode" = state ] && db=2
  [[ "$mode" == pair* ]] && db=3
  hajib_pid="" hajib_port="" hajib_note=""
  ((hajib_built)) || { hajib_note="hajib did not build: ${hajib_build_error:-see cmake}"; return 1; }
  local hash
  hash=$(printf "%s\n" benchpw | "$build/hajib" passwd 2>"$tmp/passwd.err" | tail -1) && [ -n "$hash" ] ||
    { hajib_note="'hajib passwd' failed: $(head -1 "$tmp/passwd.err")"; return 1; }
  # Every account declares its entity and sender names; smpp-load sends from "ACME".
  cat >"$tmp/hajib-$mode.yaml" <<EOF
listen: { smpp: "127.0.0.1:$smpp_port", stats: "127.0.0.1:0" }
state: { redis: "redis://127.0.0.1:$redis_port/$db" }
limits: { customer_window: 1000, connections_max: 5000, connections_per_address_max: 5000 }
upstreams:
  stc: { host: 127.0.0.1, port: $sim_port, system_id: hajib, password: pw, sessions: 4, window: 1000 }
routes: { prefixes: { "9665": stc } }
accounts:
  bench: { password_hash: "$hash", allow_ips: [ "127.0.0.0/8" ], max_binds: 2000, window: 1000,
           entity: private, senders: { ACME: service } }
EOF
  [ "$mode" = off ] && echo 'policy: { mode: off }' >>"$tmp/hajib-$mode.yaml"
  # Every stateful rule a service message can meet: a prepaid balance and a throughput limit,
  # checked and charged in the one Redis script per message (docs/state.md).
  if [ "$mode" = state ]; then
    sed -i 's/entity: private, senders: { ACME: service } }/entity: private, senders: { ACME: service }, balance: prepaid, throughput: 1000000 }/' \
      "$tmp/hajib-$mode.yaml"
    "$build/hajib" balance add --config "$tmp/hajib-$mode.yaml" --account bench 1000000000 >/dev/null 2>>"$tmp/passwd.err" ||
      { hajib_note="hajib balance add failed: $(tail -1 "$tmp/passwd.err")"; return 1; }
  fi
  # Heap allocations are counted by an LD_PRELOAD shim (test/sim/alloc_counter.c), read per cell.
  rm -f "$tmp/allocs-$mode"
  HAJIB_ALLOC_COUNT_FILE="$tmp/allocs-$mode" LD_PRELOAD="$build/liballoc-counter.so" \
    "$build/hajib" --config "$tmp/hajib-$mode.yaml" >"$tmp/hajib-$mode.out" 2>"$tmp/hajib-$mode.err" &
  hajib_pid=$!
  alloc_file[$hajib_pid]="$tmp/allocs-$mode"
  pids+=("$hajib_pid")
  local line
  line=$(wait_for_line "$tmp/hajib-$mode.err" ' daemon: listening smpp=' 10) ||
    { hajib_note="hajib did not report listening within 10 s: $(tail -2 "$tmp/hajib-$mode.err" | tr '\n' ' ')"; return 1; }
  hajib_port=$(sed -n 's/.*smpp=127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
  # Prove the route works (upstream sessions bound, the policy accepts) before measuring.
  local probe
  probe=$(load "$hajib_port" --connections 1 --window 10 --count 100 --duration 10) &&
    [ "$(field "$probe" ok)" = 100 ] ||
    { hajib_note="hajib probe failed: $probe $(tail -2 "$tmp/hajib-$mode.err" | tr '\n' ' ')"; return 1; }
}

# Stops a hajib we started (SIGTERM, then SIGKILL after 5 s).
stop_hajib() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  forget_pid "$pid"
}

# smpp-load against a port; prints its JSON line (or nothing, exit status 1).
load() {
  local port=$1
  shift
  local user=bench pw=benchpw
  timeout 60 "$build/smpp-load" --host 127.0.0.1 --port "$port" --system-id "$user" --password "$pw" "$@" ${load_extra[@]+"${load_extra[@]}"} \
    2>>"$tmp/load.err"
}

# ---- measurements ----------------------------------------------------------------------------------

declare -A rate p50 p99 p999 errs cpu allocs alloc_file
json_rows=()

# CPU ticks and counted allocations of one or more processes (PIDs separated by commas).
cpu_ticks_of() {
  local total=0 pid t
  for pid in ${1//,/ }; do t=$(cpu_ticks "$pid") || return 1; total=$((total + t)); done
  echo "$total"
}
allocations_of() {
  local total=0 pid n
  sleep 0.12  # the shim writes its count every 50 ms
  for pid in ${1//,/ }; do
    [ -n "${alloc_file[$pid]:-}" ] && n=$(cat "${alloc_file[$pid]}" 2>/dev/null) && [ -n "$n" ] || return 1
    total=$((total + n))
  done
  echo "$total"
}

# Each cell runs for 4 s (warm-up included) or until its count, whichever comes first; the first
# messages warm up (connections, allocator, Redis) and are not measured.
cell_seconds=4
count_for_window() {
  case $1 in 1) echo 200000 ;; 10) echo 2000000 ;; *) echo 5000000 ;; esac
}
warmup_for_window() {
  case $1 in 1) echo 1000 ;; 10) echo 5000 ;; *) echo 20000 ;; esac
}

# measure_path PATH PORT [PID] [CELLS]: CELLS is a list of CONNECTIONSxWINDOW (default: the whole matrix).
# With a PID (or several, comma-separated), their CPU time and heap allocations per message are
# reported too.
all_cells="1x1 1x10 1x100 4x1 4x10 4x100"
measure_path() {
  local path=$1 port=$2 pid=${3:-} cells=${4:-$all_cells} cell c w n warm out t0 t1 a0 a1 key
  for cell in $cells; do
    c=${cell%x*} w=${cell#*x}
    n=$(count_for_window "$w")
    warm=$(warmup_for_window "$w")
    key="$path/$c/$w"
    [ -n "$pid" ] && { t0=$(cpu_ticks_of "$pid"); a0=$(allocations_of "$pid") || a0=""; }
    out=$(load "$port" --connections "$c" --window "$w" --count "$n" --duration "$cell_seconds" --warmup "$warm" "${load_extra[@]}")
    if [ -z "$out" ] || [ -z "$(field "$out" msg_per_s)" ]; then
      rate[$key]="failed"
      # What the proxies said about it (a refused bind names its reason there).
      local said
      said=$(cat "$tmp"/hajib-*.err 2>/dev/null | grep -E 'refused|closing|error' | tail -3 | tr '\n' ' ')
      cell_failed "$key" "smpp-load failed: $(tail -1 "$tmp/load.err")${said:+; hajib said: $said}"
      continue
    fi
    rate[$key]=$(field "$out" msg_per_s)
    p50[$key]=$(field "$out" p50_us)
    p99[$key]=$(field "$out" p99_us)
    p999[$key]=$(field "$out" p999_us)
    errs[$key]=$(errors_of "$out")
    local unanswered
    unanswered=$(field "$out" unanswered)
    [ "${unanswered:-0}" != 0 ] && errs[$key]="${errs[$key]:+${errs[$key]},}unanswered:$unanswered"
    local cpu_json=""
    if [ -n "$pid" ]; then
      t1=$(cpu_ticks_of "$pid")
      local msgs=$(( $(field "$out" sent) + warm ))  # warm-up messages cost CPU too
      cpu[$key]=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v m="$msgs" 'BEGIN{printf "%.2f", d*1e6/hz/m}')
      cpu_json=",\"cpu_us_per_msg\":${cpu[$key]}"
      if [ -n "$a0" ] && a1=$(allocations_of "$pid"); then
        allocs[$key]=$(awk -v d=$((a1 - a0)) -v m="$msgs" 'BEGIN{printf "%.2f", d/m}')
        cpu_json+=",\"allocations_per_msg\":${allocs[$key]}"
      else
        cell_failed "$key allocations" "the allocation counter (liballoc-counter.so) gave no count"
      fi
    fi
    json_rows+=("{\"path\":\"$path\",\"connections\":$c,\"window\":$w,\"msg_per_s\":${rate[$key]},\"p50_us\":${p50[$key]},\"p99_us\":${p99[$key]},\"p999_us\":${p999[$key]},\"errors\":{${errs[$key]}}$cpu_json}")
    printf '  %-10s %2s x %-4s %12s msg/s  p50 %8s  p99 %8s  p99.9 %8s µs %s%s\n' "$path" "$c" "$w" "${rate[$key]}" \
      "${p50[$key]}" "${p99[$key]}" "${p999[$key]}" "${cpu[$key]:+ cpu ${cpu[$key]} µs/msg}" "${allocs[$key]:+, ${allocs[$key]} allocs/msg}" >&2
  done
}
load_extra=()

# The same at 4 x 100 with a 140-character English service text instead of "hello", so that the
# policy's text rules (normalisation, keywords, OTP, links) have something to read. Path PATH+text.
long_text="Your order 48213 has shipped and will arrive within 2 days. Track it in the app or call customer care on 920000000. Thank you for shopping"
measure_long_text() {
  load_extra=(--text "$long_text")
  measure_path "$1+text" "$2" "${3:-}" "4x100"
  load_extra=()
}

# The headline cell, 4 x 100, runs three times per hajib path, the two paths alternating; the run
# with the median msg/s is reported (the VM's noise between 4-second runs is often +-20%).
declare -A runs spread
headline_runs=3
measure_headline() {
  local i mode label key
  for i in $(seq "$headline_runs"); do
    for mode in enforce off; do
      [ -n "${hpid[$mode]:-}" ] || continue
      label=hajib
      [ "$mode" = off ] && label=hajib-off
      key=$label/4/100
      measure_path "$label" "${hport[$mode]}" "${hpid[$mode]}" 4x100
      [ "${rate[$key]}" = failed ] && continue
      runs[$label]+="${rate[$key]}|${p50[$key]}|${p99[$key]}|${p999[$key]}|${cpu[$key]}|${allocs[$key]:-}|${errs[$key]}"$'\n'
    done
  done
  for label in hajib hajib-off; do
    [ -n "${runs[$label]:-}" ] || continue
    key=$label/4/100
    local sorted median n
    sorted=$(printf '%s' "${runs[$label]}" | sort -t'|' -k1,1g)
    n=$(wc -l <<<"$sorted")
    median=$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")
    IFS='|' read -r rate[$key] p50[$key] p99[$key] p999[$key] cpu[$key] allocs[$key] errs[$key] <<<"$median"
    spread[$key]="$(head -1 <<<"$sorted" | cut -d'|' -f1)-$(tail -1 <<<"$sorted" | cut -d'|' -f1)"
  done
}

# 10,000 msg/s offered over 4 x 100 for 4 s; each call adds one run, and paced[] keeps the run with
# the median p99 so far (finish_paced), because one stall on this VM moves a p99 by milliseconds.
declare -A paced paced_runs
measure_paced() {
  local path=$1 port=$2 out
  out=$(load "$port" --connections 4 --window 100 --rate 10000 --duration 4 --warmup 2000) || true
  [ -n "$out" ] && [ -n "$(field "$out" p99_us)" ] ||
    { cell_failed "paced/$path (one run)" "smpp-load failed: $(tail -1 "$tmp/load.err")"; return; }
  paced_runs[$path]+="$(field "$out" msg_per_s) $(field "$out" p50_us) $(field "$out" p99_us) $(field "$out" p999_us)"$'\n'
  json_rows+=("{\"path\":\"$path\",\"test\":\"paced_10k\",\"connections\":4,\"window\":100,\"msg_per_s\":$(field "$out" msg_per_s),\"p50_us\":$(field "$out" p50_us),\"p99_us\":$(field "$out" p99_us),\"p999_us\":$(field "$out" p999_us)}")
}

# Bind 1,000 idle customer sessions (plus one that submits a little) and sample hajib's RSS meanwhile.
measure_idle_sessions() {
  local hajib_pid=$1 hajib_port=$2 before peak=0 kb out
  before=$(status_kb "$hajib_pid" VmRSS)
  load "$hajib_port" --connections 1 --window 1 --rate 200 --duration 4 --idle-connections 1000 >"$tmp/idle.out" &
  local load_pid=$!
  pids+=("$load_pid")
  while kill -0 "$load_pid" 2>/dev/null; do
    kb=$(status_kb "$hajib_pid" VmRSS)
    [ -n "$kb" ] && ((kb > peak)) && peak=$kb
    sleep 0.2
  done
  wait "$load_pid"
  forget_pid "$load_pid"
  out=$(cat "$tmp/idle.out")
  idle_rss_before=$before
  idle_rss_peak=$peak
  [ -n "$out" ] || { idle_note="smpp-load with 1,000 idle sessions failed: $(tail -1 "$tmp/load.err")"; cell_failed idle "$idle_note"; }
}

# $@: the paths that were meant to be measured; one with no run at all is a failed cell.
finish_paced() {
  local path sorted n
  for path in "$@"; do
    [ -n "${paced_runs[$path]:-}" ] || cell_failed "paced/$path" "no paced run succeeded"
  done
  for path in "${!paced_runs[@]}"; do
    sorted=$(printf '%s' "${paced_runs[$path]}" | sort -k3,3g)
    n=$(wc -l <<<"$sorted")
    paced[$path]="$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")  (p99 of the runs: $(cut -d' ' -f3 <<<"$sorted" | paste -sd' '))"
  done
}

# ---- policy-bench ------------------------------------------------------------------------------------

# Compile time and decision rate of a generated 10,000-account policy (test/sim/policy_bench.cc).
# The timed loop is capped so that a slow decision cannot stretch the run.
run_policy_bench() {
  ((policy_bench_built)) || { policy_bench_note="policy-bench did not build"; return 1; }
  timeout 120 "$build/policy-bench" --decisions 2000000 --max-seconds 20 >"$tmp/policy-bench.out" 2>"$tmp/policy-bench.err" ||
    { policy_bench_note="policy-bench failed: $(tail -1 "$tmp/policy-bench.err")"; return 1; }
  policy_bench_json=$(grep '^{' "$tmp/policy-bench.out" | tail -1)
}

# ---- report ---------------------------------------------------------------------------------------

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else printf "-" }'
}

paths="direct haproxy hajib hajib-off hajib+text hajib-off+text hajib-3part hajib-state hajib-1proc hajib-2proc"

print_table() {
  local path c w key
  printf '\n%-14s %5s %6s %12s %9s %9s %9s %10s %11s  %s\n' path conns window msg/s p50_us p99_us p99.9_us cpu_us/msg allocs/msg errors
  for path in $paths; do
    for c in 1 4 8; do
      for w in 1 10 100; do
        key="$path/$c/$w"
        [ -n "${rate[$key]:-}" ] || continue
        printf '%-14s %5s %6s %12s %9s %9s %9s %10s %11s  %s\n' "$path" "$c" "$w" "${rate[$key]}" "${p50[$key]:--}" \
          "${p99[$key]:--}" "${p999[$key]:--}" "${cpu[$key]:--}" "${allocs[$key]:--}" "${errs[$key]:-}"
      done
    done
  done
  printf '("+text": the same 4 x 100 run with a 140-character service text instead of "hello";\n'
  printf ' hajib-1proc / hajib-2proc: 8 x 100 with that text through one process, then two sharing the port)\n'
  if [ -n "${rate[hajib/4/100]:-}" ]; then
    printf '\nratios (msg/s; p50 latency)  hajib/direct   hajib/haproxy  hajib/hajib-off  (cpu µs/msg hajib/hajib-off)\n'
    for c in 1 4; do
      for w in 1 10 100; do
        [ -n "${rate[hajib/$c/$w]:-}" ] || continue
        printf '  %s x %-4s                  %5s; %5s   %5s; %5s   %5s; %5s    %5s\n' "$c" "$w" \
          "$(ratio "${rate[hajib/$c/$w]}" "${rate[direct/$c/$w]:-}")" "$(ratio "${p50[hajib/$c/$w]:-}" "${p50[direct/$c/$w]:-}")" \
          "$(ratio "${rate[hajib/$c/$w]}" "${rate[haproxy/$c/$w]:-}")" "$(ratio "${p50[hajib/$c/$w]:-}" "${p50[haproxy/$c/$w]:-}")" \
          "$(ratio "${rate[hajib/$c/$w]}" "${rate[hajib-off/$c/$w]:-}")" "$(ratio "${p50[hajib/$c/$w]:-}" "${p50[hajib-off/$c/$w]:-}")" \
          "$(ratio "${cpu[hajib/$c/$w]:-}" "${cpu[hajib-off/$c/$w]:-}")"
      done
    done
    printf '  4 x 100, 140-char text     %5s; %5s   %5s; %5s   %5s; %5s    %5s\n' \
      "$(ratio "${rate[hajib+text/4/100]:-}" "${rate[direct/4/100]:-}")" "$(ratio "${p50[hajib+text/4/100]:-}" "${p50[direct/4/100]:-}")" \
      "$(ratio "${rate[hajib+text/4/100]:-}" "${rate[haproxy/4/100]:-}")" "$(ratio "${p50[hajib+text/4/100]:-}" "${p50[haproxy/4/100]:-}")" \
      "$(ratio "${rate[hajib+text/4/100]:-}" "${rate[hajib-off+text/4/100]:-}")" "$(ratio "${p50[hajib+text/4/100]:-}" "${p50[hajib-off+text/4/100]:-}")" \
      "$(ratio "${cpu[hajib+text/4/100]:-}" "${cpu[hajib-off+text/4/100]:-}")"
    printf '  policy on / off at 4 x 100: %s (target >= 0.90); 4 x 100 rows: median of %s alternating runs (msg/s hajib %s, hajib-off %s)\n' \
      "$(ratio "${rate[hajib/4/100]}" "${rate[hajib-off/4/100]:-}")" "$headline_runs" "${spread[hajib/4/100]:-}" "${spread[hajib-off/4/100]:-}"
  fi
  [ -n "${hajib_notes[enforce]:-}" ] && printf '\nhajib rows skipped: %s\n' "${hajib_notes[enforce]}"
  [ -n "${hajib_notes[off]:-}" ] && printf '\nhajib-off rows skipped: %s\n' "${hajib_notes[off]}"
  printf '\nlatency at 10,000 msg/s offered (4 x 100; median-p99 run of 3):  msg/s  p50_us  p99_us  p99.9_us\n'
  for path in direct haproxy hajib; do
    printf '  %-8s %s\n' "$path" "${paced[$path]:-NOT MEASURED}"
  done
  if [ -n "${paced[hajib]:-}" ] && [ -n "${paced[haproxy]:-}" ]; then
    printf '  hajib p99 - haproxy p99: %s µs (target <= 300)\n' \
      "$(awk -v a="$(cut -d' ' -f3 <<<"${paced[hajib]}")" -v b="$(cut -d' ' -f3 <<<"${paced[haproxy]}")" 'BEGIN{printf "%.0f", a-b}')"
  fi
  local label
  for label in hajib hajib-off; do
    [ -n "${peak_kb[$label]:-}" ] && printf '\n%s peak RSS (VmHWM) over the whole run: %s KiB' "$label" "${peak_kb[$label]}"
  done
  printf '\n'
  if [ -n "${idle_note:-}" ]; then
    printf 'idle sessions: %s\n' "$idle_note"
  elif [ -n "${idle_rss_peak:-}" ]; then
    printf 'hajib RSS with 1,000 bound idle sessions (fresh process, before the throughput runs): %s KiB (before: %s KiB, ~%s KiB per session)\n' \
      "$idle_rss_peak" "$idle_rss_before" "$(awk -v a="$idle_rss_peak" -v b="$idle_rss_before" 'BEGIN{printf "%.1f", (a-b)/1000}')"
  fi
  printf '\npolicy-bench (10,000 accounts, 50,000 sender names; one thread):\n'
  if [ -n "${policy_bench_note:-}" ]; then
    printf '  %s\n' "$policy_bench_note"
  else
    sed 's/^/  /' "$tmp/policy-bench.out" | grep -v '^  {'
  fi
}

# The targets of issue 9 ("The core as stages, and a hot path without printf"), each with the
# figure it is judged by; "-" where a figure is missing (that cell is then in the failures too).
compare() {  # compare VALUE OP LIMIT -> met | missed | -
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN{ if (v == "" || v == "-" || v == "failed") { print "-"; exit }
    ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "met" : "missed" }'
}
print_targets() {
  local t=hajib+text/4/100 pb=${policy_bench_json:-} p99_gap="" dps allocs_pd parse_compile
  dps=$(field "$pb" decisions_per_s)
  allocs_pd=$(field "$pb" malloc_per_decision)
  parse_compile=$(awk -v a="$(field "$pb" parse_ms)" -v b="$(field "$pb" compile_ms)" -v c="$(field "$pb" finish_ms)" \
    'BEGIN{ if (a == "") print ""; else printf "%.0f", a + b + c }')
  if [ -n "${paced[hajib]:-}" ] && [ -n "${paced[haproxy]:-}" ]; then
    p99_gap=$(awk -v a="$(cut -d' ' -f3 <<<"${paced[hajib]}")" -v b="$(cut -d' ' -f3 <<<"${paced[haproxy]}")" 'BEGIN{printf "%.0f", a-b}')
  fi
  local state_ratio part_ratio text_ratio pair_ratio
  text_ratio=$(ratio "${rate[$t]:-}" "${rate[haproxy/4/100]:-}")
  state_ratio=$(ratio "${rate[hajib-state/4/100]:-}" "${rate[hajib/4/100]:-}")
  part_ratio=$(ratio "${rate[hajib-3part/4/100]:-}" "${rate[hajib/4/100]:-}")
  pair_ratio=$(ratio "${rate[hajib-2proc/8/100]:-}" "${rate[hajib-1proc/8/100]:-}")
  printf '\ntargets (issue 9)                                       measured      target      \n'
  printf '  proxy CPU per message, 4 x 100, 140-char text        %10s µs   <= 2.0      %s\n' "${cpu[$t]:--}" "$(compare "${cpu[$t]:-}" '<=' 2.0)"
  printf '  msg/s end to end, 4 x 100, 140-char text             %13s   >= 400000   %s\n' "${rate[$t]:--}" "$(compare "${rate[$t]:-}" '>=' 400000)"
  printf '  the same / haproxy                                   %13s   >= 0.15     %s\n' "$text_ratio" "$(compare "$text_ratio" '>=' 0.15)"
  printf '  heap allocations per message, 4 x 100, 140-char text %13s   0           %s\n' "${allocs[$t]:--}" "$(compare "${allocs[$t]:-}" '<=' 0.005)"
  printf '  stateful rules on / stateless (4 x 100)              %13s   >= 0.7      %s\n' "$state_ratio" "$(compare "$state_ratio" '>=' 0.7)"
  printf '  3-part UCS-2 parts/s / single-part msg/s (4 x 100)   %13s   >= 0.7      %s\n' "$part_ratio" "$(compare "$part_ratio" '>=' 0.7)"
  printf '  p99 at 10,000 msg/s, hajib - haproxy                 %10s µs   <= 300      %s\n' "${p99_gap:--}" "$(compare "$p99_gap" '<=' 300)"
  printf '  policy-bench decisions/s                             %13s   >= 1000000  %s\n' "${dps:--}" "$(compare "$dps" '>=' 1000000)"
  printf '  policy-bench allocations per decision                %13s   0           %s\n' "${allocs_pd:--}" "$(compare "$allocs_pd" '<=' 0)"
  printf '  parse + compile of the 10,000-account policy         %10s ms   < 1000      %s\n' "${parse_compile:--}" "$(compare "$parse_compile" '<=' 999)"
  printf '  two SO_REUSEPORT processes / one (8 x 100, text)     %13s   (scaling)\n' "$pair_ratio"
}

write_json() {
  local rows
  rows=$(IFS=,; echo "${json_rows[*]}")
  {
    printf '{"date":"%s","source":"%s","nproc":%s,"cpu":"%s","runs":[%s]' "$(date -Is)" "$source_rev" "$(nproc)" "$cpu_model" "$rows"
    [ -n "${peak_kb[hajib]:-}" ] && printf ',"hajib_vmhwm_kb":%s' "${peak_kb[hajib]}"
    [ -n "${peak_kb[hajib-off]:-}" ] && printf ',"hajib_off_vmhwm_kb":%s' "${peak_kb[hajib-off]}"
    [ -n "${idle_rss_peak:-}" ] && [ -z "${idle_note:-}" ] &&
      printf ',"hajib_rss_1000_idle_kb":%s,"hajib_rss_before_idle_kb":%s' "$idle_rss_peak" "$idle_rss_before"
    [ -n "${hajib_notes[enforce]:-}" ] && printf ',"hajib_skipped":"%s"' "${hajib_notes[enforce]//\"/\'}"
    [ -n "${hajib_notes[off]:-}" ] && printf ',"hajib_off_skipped":"%s"' "${hajib_notes[off]//\"/\'}"
    [ -n "${policy_bench_json:-}" ] && printf ',"policy_bench":%s' "$policy_bench_json"
    printf '}\n'
  } >"$results_json"
}

# ---- main ------------------------------------------------------------------------------------------

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Hajib benchmark  $(date -Is)"
echo "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)"
# Read-only: no index refresh (GIT_OPTIONAL_LOCKS=0), so a benchmark never touches .git.
source_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ] &&
  source_rev="$source_rev+uncommitted changes"
echo "source: $source_rev"
# 1,000 idle sessions need more descriptors than the common default of 1,024 (hajib inherits this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

declare -A hajib_notes peak_kb
build_tools
start_sim
start_redis || note "redis did not start; hajib will likely fail"
haproxy_ok=1
start_haproxy || { haproxy_ok=0; cell_failed "haproxy rows" "haproxy did not start"; }
note "smsc-sim on :$sim_port, haproxy on :$haproxy_port, redis on :$redis_port"

note "direct -> smsc-sim"
measure_path direct "$sim_port"
if ((haproxy_ok)); then
  note "haproxy -> smsc-sim"
  measure_path haproxy "$haproxy_port"
fi

# hajib with the policy enforced (the defaults decide every message) and hajib-off (`policy: { mode:
# off }`, the relay core alone) run side by side, each with its own Redis database, and take turns
# cell by cell, so that both see the same machine.
declare -A hpid hport
for mode in enforce off; do
  if start_hajib "$mode"; then
    hpid[$mode]=$hajib_pid hport[$mode]=$hajib_port
  else
    hajib_notes[$mode]=$hajib_note
    cell_failed "hajib ($mode) rows" "$hajib_note"
  fi
done
if [ -n "${hpid[enforce]:-}" ]; then
  # On the fresh process, before any traffic has grown its heap: what 1,000 bound sessions cost.
  note "1,000 idle sessions through hajib"
  measure_idle_sessions "${hpid[enforce]}" "${hport[enforce]}"
fi
note "hajib and hajib-off -> smsc-sim (hajib on :${hport[enforce]:-}, hajib-off on :${hport[off]:-})"
for cell in $all_cells; do
  [ "$cell" = 4x100 ] && continue
  [ -n "${hpid[enforce]:-}" ] && measure_path hajib "${hport[enforce]}" "${hpid[enforce]}" "$cell"
  [ -n "${hpid[off]:-}" ] && measure_path hajib-off "${hport[off]}" "${hpid[off]}" "$cell"
done
measure_headline
[ -n "${hpid[enforce]:-}" ] && measure_long_text hajib "${hport[enforce]}" "${hpid[enforce]}"
[ -n "${hpid[off]:-}" ] && measure_long_text hajib-off "${hport[off]}" "${hpid[off]}"
# The paced runs take turns (direct, haproxy, hajib; three rounds), so that they see the same machine.
note "paced 10,000 msg/s"
for _ in 1 2 3; do
  measure_paced direct "$sim_port"
  ((haproxy_ok)) && measure_paced haproxy "$haproxy_port"
  [ -n "${hpid[enforce]:-}" ] && measure_paced hajib "${hport[enforce]}"
done
paced_paths="direct"
((haproxy_ok)) && paced_paths+=" haproxy"
[ -n "${hpid[enforce]:-}" ] && paced_paths+=" hajib"
finish_paced $paced_paths
[ -n "${hpid[enforce]:-}" ] && peak_kb[hajib]=$(status_kb "${hpid[enforce]}" VmHWM)
[ -n "${hpid[off]:-}" ] && peak_kb[hajib-off]=$(status_kb "${hpid[off]}" VmHWM)
# Long messages: 3-part UCS-2 messages with a UDH through the enforcing hajib, in parts per second
# (each part is one submit_sm and one response), beside the single-part figure above.
if [ -n "${hpid[enforce]:-}" ]; then
  note "3-part UCS-2 messages through hajib"
  load_extra=(--parts 3)
  measure_path hajib-3part "${hport[enforce]}" "${hpid[enforce]}" 4x100
  load_extra=()
fi
for mode in enforce off; do stop_hajib "${hpid[$mode]:-}"; done

# Every stateful rule on (prepaid balance + throughput limit, one Redis script per message).
note "hajib with stateful rules -> smsc-sim"
if start_hajib state; then
  measure_path hajib-state "$hajib_port" "$hajib_pid" 4x100
  peak_kb[hajib-state]=$(status_kb "$hajib_pid" VmHWM)
  stop_hajib "$hajib_pid"
else
  cell_failed "hajib-state rows" "$hajib_note"
fi

# SO_REUSEPORT: the same 8 x 100 load with the 140-character text, first through one enforcing
# process, then through two that share the port; the kernel spreads the connections between them.
note "SO_REUSEPORT: one process, then two on one port"
pair_port=$(free_port)
if start_hajib pair1 "$pair_port"; then
  pair_pids=$hajib_pid
  load_extra=(--text "$long_text")
  measure_path hajib-1proc "$pair_port" "$pair_pids" 8x100
  if start_hajib pair2 "$pair_port"; then
    pair_pids+=",$hajib_pid"
    measure_path hajib-2proc "$pair_port" "$pair_pids" 8x100
  else
    cell_failed "hajib-2proc" "$hajib_note"
  fi
  load_extra=()
  for pid in ${pair_pids//,/ }; do stop_hajib "$pid"; done
else
  cell_failed "hajib-1proc and hajib-2proc" "$hajib_note"
fi

note "policy-bench"
run_policy_bench || cell_failed policy-bench "$policy_bench_note"

print_table
print_targets
write_json
echo "results: $results_json"
if ((${#failures[@]})); then
  printf '\nFAILED: %s cell(s) promised by this report could not be measured:\n' "${#failures[@]}"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
