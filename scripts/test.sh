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

echo "== end-to-end tests (sanitizer build, npm smpp peers, redis-server)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd test/e2e && HAJIB_BIN="$HAJIB_ROOT/build-asan/hajib" node --test --test-concurrency=1)
