#!/usr/bin/env bash
# Installs what is missing, builds (plain and ASan/UBSan), and runs every test:
# Catch2 unit tests in both builds, `hajib check` on etc/, and the end-to-end suite of the
# sanitizer build against the npm `smpp` peers and a real redis-server.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HAJIB_ROOT"

scripts/install-deps.sh

echo "== build (RelWithDebInfo, -Wall -Wextra)"
build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
build_tree build-asan -DCMAKE_BUILD_TYPE=Debug -DHAJIB_SANITIZE=ON

echo "== unit tests"
(cd build && ctest --output-on-failure)
(cd build-asan && ctest --output-on-failure)

echo "== hajib check etc/hajib.yaml"
build/hajib check --config etc/hajib.yaml

echo "== Debian package in a clean Debian 12 root"
scripts/package-test.sh build

echo "== fuzzing every parser (libFuzzer + ASan/UBSan, instrumented libraries, test/fuzz/)"
# name:seconds, about 2.5 minutes in all; HAJIB_FUZZ_SECONDS=N gives every target N seconds.
fuzz_runs=(pdu:30 pdu_diff:25 text:25 receipt_id:25 msisdn:20 config:40 proxy_protocol:20)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHAJIB_SANITIZE=ON -DHAJIB_FUZZ=ON >/dev/null
fuzz_targets=(); for run in "${fuzz_runs[@]}"; do name=${run%%:*}; fuzz_targets+=("${name//_/-}-fuzz"); done
cmake --build build-fuzz -j"$(nproc)" --target "${fuzz_targets[@]}" -- --no-print-directory 2>&1 \
  | grep -E 'warning|error|Error' || true
rm -f build-fuzz/*-crash-* build-fuzz/*-leak-* build-fuzz/*-timeout-* build-fuzz/*-oom-*
for run in "${fuzz_runs[@]}"; do
  name=${run%%:*}; seconds=${HAJIB_FUZZ_SECONDS:-${run#*:}}; bin=build-fuzz/${name//_/-}-fuzz
  log=build-fuzz/$name-fuzz.log; dict=(); [[ -f test/fuzz/$name.dict ]] && dict=(-dict="test/fuzz/$name.dict")
  corpus=$(mktemp -d); cp test/fuzz/corpus/"$name"/* "$corpus"/
  # A crash, a leak, a unit slower than 10 s, or a committed seed that crashes: libFuzzer exits non-zero.
  # ASan's default 256 MiB quarantine took config-fuzz past 1 GiB in minutes; 32 MiB keeps it
  # under 100 MiB and still catches a use after free of anything freed in the same unit.
  status=0
  ASAN_OPTIONS=quarantine_size_mb=32 "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/$name-" "$corpus" >"$log" 2>&1 || status=$?
  # The corpus it grew must replay cleanly too (a crash that needs state from earlier units).
  if [[ $status == 0 ]]; then ASAN_OPTIONS=quarantine_size_mb=32 "$bin" -runs=0 "$corpus" >>"$log" 2>&1 || status=$?; fi
  rm -rf "$corpus"
  # Figures for the log (absent after an early crash: hence || true under pipefail).
  points=$(grep -oE 'Loaded 1 modules +\([0-9]+' "$log" | grep -oE '[0-9]+$' | head -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
  units=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | head -1 || true)
  echo "${bin#build-fuzz/}: ${units:-?} units in ${seconds} s, ${cov:-cov: ?} of ${points:-?} points"
  if [[ $status != 0 ]]; then
    # What the target printed just before it died (an uncaught exception's what(), an abort message),
    # and the input itself, so that a failure on a CI machine can be replayed anywhere.
    grep -B8 -m1 -E 'ERROR|property broken' "$log" | grep -vE '^#[0-9]+|^(INFO|MS):' | head -20
    grep -E 'SUMMARY|Test unit written' "$log" | head -5
    for artifact in build-fuzz/"$name"-*-*; do
      [[ -f $artifact ]] && echo "$artifact (base64): $(head -c 6000 "$artifact" | base64 -w0)"
    done
    echo "fuzzing $name found a failure (exit $status): $log, build-fuzz/$name-*"; exit 1
  fi
done

echo "== end-to-end tests (sanitizer build, npm smpp peers, redis-server)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd test/e2e && HAJIB_BIN="$HAJIB_ROOT/build-asan/hajib" node --test --test-concurrency=1)

echo "== fault suite, short form (sanitizer build; long form: scripts/fault.sh)"
(cd test/fault && HAJIB_BIN="$HAJIB_ROOT/build-asan/hajib" node --test --test-concurrency=1)

echo "== multi-host test, short form (network namespaces, haproxy, Sentinel; long form: scripts/multihost.sh --long)"
HAJIB_BIN="$HAJIB_ROOT/build/hajib" scripts/multihost.sh
