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

echo "== fuzzing the framer and codec (libFuzzer + ASan/UBSan, 60 s)"
CC=clang CXX=clang++ build_tree build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHAJIB_SANITIZE=ON -DHAJIB_FUZZ=ON
corpus=$(mktemp -d); cp test/fuzz/corpus/* "$corpus"/
build-fuzz/pdu-fuzz -max_total_time=60 -print_final_stats=1 -artifact_prefix=build-fuzz/ "$corpus" 2>&1 \
  | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
build-fuzz/pdu-fuzz -runs=0 "$corpus" >/dev/null 2>&1  # fails if the corpus it grew crashes
rm -rf "$corpus"
if ls build-fuzz/crash-* build-fuzz/leak-* >/dev/null 2>&1; then echo "fuzzing found a crash: build-fuzz/"; exit 1; fi

echo "== end-to-end tests (sanitizer build, npm smpp peers, redis-server)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd test/e2e && HAJIB_BIN="$HAJIB_ROOT/build-asan/hajib" node --test --test-concurrency=1)
