#!/usr/bin/env bash
# Benchmark: SMPP throughput and latency direct to smsc-sim, through haproxy (byte relay) and through hajib.
# Usage: scripts/bench.sh   (from the repo root; writes bench-results.json in the current directory)
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
     cmake --build "$build" -j"$(nproc)" --target smsc-sim smpp-load >>"$tmp/cmake.log" 2>&1; then
    hajib_built=0
    cmake --build "$build" -j"$(nproc)" --target hajib >>"$tmp/cmake.log" 2>&1 && hajib_built=1
    return 0
  fi
  # The proxy tree may not compile yet: build the two tools alone so the other rows still run.
  note "cmake build failed (see below); compiling smsc-sim and smpp-load directly"
  tail -5 "$tmp/cmake.log" >&2
  mkdir -p "$build"
  local t
  for t in smsc_sim:smsc-sim loadgen:smpp-load; do
    g++ -std=c++20 -O2 -DNDEBUG -Wall -Wextra -I"$repo" "$repo/test/sim/${t%%:*}.cc" "$repo/smpp/protocol.cc" \
      "$repo/smpp/framer.cc" -luv -o "$build/${t##*:}" || { note "cannot build ${t##*:}"; exit 1; }
  done
  hajib_built=0
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

start_hajib() {
  ((hajib_built)) || { hajib_note="hajib did not build"; return 1; }
  local hash
  hash=$("$build/hajib" passwd benchpw 2>"$tmp/passwd.err" | tail -1) && [ -n "$hash" ] ||
    { hajib_note="'hajib passwd' failed: $(head -1 "$tmp/passwd.err")"; return 1; }
  cat >"$tmp/hajib.yaml" <<EOF
listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: { redis: "redis://127.0.0.1:$redis_port/0" }
limits: { customer_window: 1000 }
upstreams:
  stc: { host: 127.0.0.1, port: $sim_port, system_id: hajib, password: pw, sessions: 4, window: 1000 }
routes: { prefixes: { "9665": stc } }
accounts:
  bench: { password_hash: "$hash", allow_ips: [ "127.0.0.0/8" ], max_binds: 2000, window: 1000 }
EOF
  "$build/hajib" --config "$tmp/hajib.yaml" >"$tmp/hajib.out" 2>"$tmp/hajib.err" &
  hajib_pid=$!
  pids+=("$hajib_pid")
  local line
  line=$(wait_for_line "$tmp/hajib.err" 'hajib: listening smpp=' 10) ||
    { hajib_note="hajib did not report listening within 10 s: $(tail -2 "$tmp/hajib.err" | tr '\n' ' ')"; return 1; }
  hajib_port=$(sed -n 's/.*smpp=127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
  # Prove the route works (upstream sessions bound) before measuring.
  local probe
  probe=$(load "$hajib_port" --connections 1 --window 10 --count 100 --duration 10) &&
    [ "$(field "$probe" ok)" = 100 ] ||
    { hajib_note="hajib probe failed: $probe $(tail -2 "$tmp/hajib.err" | tr '\n' ' ')"; return 1; }
}

# smpp-load against a port; prints its JSON line (or nothing, exit status 1).
load() {
  local port=$1
  shift
  local user=bench pw=benchpw
  timeout 60 "$build/smpp-load" --host 127.0.0.1 --port "$port" --system-id "$user" --password "$pw" "$@" \
    2>>"$tmp/load.err"
}

# ---- measurements ----------------------------------------------------------------------------------

declare -A rate p50 p99 p999 errs cpu
json_rows=()

count_for_window() {
  case $1 in 1) echo 20000 ;; 10) echo 100000 ;; *) echo 200000 ;; esac
}

measure_path() {
  local path=$1 port=$2 pid=${3:-} c w n out t0 t1 key
  for c in 1 4; do
    for w in 1 10 100; do
      n=$(count_for_window "$w")
      key="$path/$c/$w"
      [ -n "$pid" ] && t0=$(cpu_ticks "$pid")
      out=$(load "$port" --connections "$c" --window "$w" --count "$n" --duration 20 --warmup $((n / 10)))
      if [ -z "$out" ]; then
        rate[$key]="failed"
        note "$key: smpp-load failed: $(tail -1 "$tmp/load.err")"
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
        t1=$(cpu_ticks "$pid")
        local msgs=$(( $(field "$out" sent) + n / 10 ))  # warm-up messages cost CPU too
        cpu[$key]=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v m="$msgs" 'BEGIN{printf "%.2f", d*1e6/hz/m}')
        cpu_json=",\"cpu_us_per_msg\":${cpu[$key]}"
      fi
      json_rows+=("{\"path\":\"$path\",\"connections\":$c,\"window\":$w,\"msg_per_s\":${rate[$key]},\"p50_us\":${p50[$key]},\"p99_us\":${p99[$key]},\"p999_us\":${p999[$key]},\"errors\":{${errs[$key]}}$cpu_json}")
      printf '  %-8s %2s x %-4s %12s msg/s  p50 %8s  p99 %8s  p99.9 %8s µs %s\n' "$path" "$c" "$w" "${rate[$key]}" \
        "${p50[$key]}" "${p99[$key]}" "${p999[$key]}" "${cpu[$key]:+ cpu ${cpu[$key]} µs/msg}" >&2
    done
  done
}

declare -A paced
measure_paced() {
  local path=$1 port=$2 out
  out=$(load "$port" --connections 4 --window 100 --rate 10000 --duration 5 --warmup 2000) || true
  [ -z "$out" ] && { paced[$path]="failed"; return; }
  paced[$path]="$(field "$out" msg_per_s) $(field "$out" p50_us) $(field "$out" p99_us) $(field "$out" p999_us)"
  json_rows+=("{\"path\":\"$path\",\"test\":\"paced_10k\",\"connections\":4,\"window\":100,\"msg_per_s\":$(field "$out" msg_per_s),\"p50_us\":$(field "$out" p50_us),\"p99_us\":$(field "$out" p99_us),\"p999_us\":$(field "$out" p999_us)}")
}

# Bind 1,000 idle customer sessions (plus one that submits a little) and sample hajib's RSS meanwhile.
measure_idle_sessions() {
  local before peak=0 kb out
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
  out=$(cat "$tmp/idle.out")
  idle_rss_before=$before
  idle_rss_peak=$peak
  [ -n "$out" ] || idle_note="smpp-load with 1,000 idle sessions failed: $(tail -1 "$tmp/load.err")"
}

# ---- report ---------------------------------------------------------------------------------------

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else printf "-" }'
}

print_table() {
  local path c w key
  printf '\n%-8s %5s %6s %12s %9s %9s %9s %10s  %s\n' path conns window msg/s p50_us p99_us p99.9_us cpu_us/msg errors
  for path in direct haproxy hajib; do
    for c in 1 4; do
      for w in 1 10 100; do
        key="$path/$c/$w"
        [ -n "${rate[$key]:-}" ] || continue
        printf '%-8s %5s %6s %12s %9s %9s %9s %10s  %s\n' "$path" "$c" "$w" "${rate[$key]}" "${p50[$key]:--}" \
          "${p99[$key]:--}" "${p999[$key]:--}" "${cpu[$key]:--}" "${errs[$key]:-}"
      done
    done
  done
  if [ -n "${rate[hajib/1/1]:-}" ]; then
    printf '\nratios (msg/s; p50 latency)   hajib/direct        hajib/haproxy\n'
    for c in 1 4; do
      for w in 1 10 100; do
        printf '  %s x %-4s                   %5s; %5s        %5s; %5s\n' "$c" "$w" \
          "$(ratio "${rate[hajib/$c/$w]}" "${rate[direct/$c/$w]}")" "$(ratio "${p50[hajib/$c/$w]:-}" "${p50[direct/$c/$w]:-}")" \
          "$(ratio "${rate[hajib/$c/$w]}" "${rate[haproxy/$c/$w]}")" "$(ratio "${p50[hajib/$c/$w]:-}" "${p50[haproxy/$c/$w]:-}")"
      done
    done
  else
    printf '\nhajib rows skipped: %s\n' "$hajib_note"
  fi
  printf '\nlatency at 10,000 msg/s offered (4 x 100):  msg/s  p50_us  p99_us  p99.9_us\n'
  for path in direct haproxy hajib; do
    [ -n "${paced[$path]:-}" ] && printf '  %-8s %s\n' "$path" "${paced[$path]}"
  done
  if [ -n "${hajib_peak_kb:-}" ]; then
    printf '\nhajib peak RSS (VmHWM) after the throughput runs: %s KiB\n' "$hajib_peak_kb"
    if [ -n "${idle_note:-}" ]; then
      printf 'idle sessions: %s\n' "$idle_note"
    else
      printf 'hajib RSS with 1,000 bound idle sessions: %s KiB (before: %s KiB, ~%s KiB per session)\n' \
        "$idle_rss_peak" "$idle_rss_before" "$(awk -v a="$idle_rss_peak" -v b="$idle_rss_before" 'BEGIN{printf "%.1f", (a-b)/1000}')"
    fi
  fi
}

write_json() {
  local rows
  rows=$(IFS=,; echo "${json_rows[*]}")
  {
    printf '{"date":"%s","nproc":%s,"cpu":"%s","runs":[%s]' "$(date -Is)" "$(nproc)" "$cpu_model" "$rows"
    [ -n "${hajib_peak_kb:-}" ] && printf ',"hajib_vmhwm_kb":%s' "$hajib_peak_kb"
    [ -n "${idle_rss_peak:-}" ] && [ -z "${idle_note:-}" ] &&
      printf ',"hajib_rss_1000_idle_kb":%s,"hajib_rss_before_idle_kb":%s' "$idle_rss_peak" "$idle_rss_before"
    [ -n "${hajib_note:-}" ] && printf ',"hajib_skipped":"%s"' "${hajib_note//\"/\'}"
    printf '}\n'
  } >"$results_json"
}

# ---- main ------------------------------------------------------------------------------------------

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Hajib benchmark  $(date -Is)"
echo "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(uname -sr)"
# 1,000 idle sessions need more descriptors than the common default of 1,024 (hajib inherits this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

hajib_note=""
build_tools
start_sim
start_redis || note "redis did not start; hajib will likely fail"
haproxy_ok=1
start_haproxy || haproxy_ok=0
note "smsc-sim on :$sim_port, haproxy on :$haproxy_port, redis on :$redis_port"

note "direct -> smsc-sim"
measure_path direct "$sim_port"
if ((haproxy_ok)); then
  note "haproxy -> smsc-sim"
  measure_path haproxy "$haproxy_port"
fi
if start_hajib; then
  note "hajib -> smsc-sim (hajib on :$hajib_port)"
  measure_path hajib "$hajib_port" "$hajib_pid"
  hajib_peak_kb=$(status_kb "$hajib_pid" VmHWM)
else
  note "skipping hajib rows: $hajib_note"
fi

note "paced 10,000 msg/s"
measure_paced direct "$sim_port"
((haproxy_ok)) && measure_paced haproxy "$haproxy_port"
[ -n "${hajib_port:-}" ] && [ -z "$hajib_note" ] && measure_paced hajib "$hajib_port"
if [ -n "${hajib_port:-}" ] && [ -z "$hajib_note" ]; then
  note "1,000 idle sessions through hajib"
  measure_idle_sessions
fi

print_table
write_json
echo "results: $results_json"
