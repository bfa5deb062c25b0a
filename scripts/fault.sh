#!/usr/bin/env bash
# The fault suite's long form (test/fault): steady traffic with receipts through one injected
# fault per scenario, at a higher rate and for longer than the short form in scripts/test.sh;
# prints a table of the figures. Builds build/ if HAJIB_BIN is not given.
#   scripts/fault.sh [--rate MSG_PER_S] [--seconds S] [--outage-ms MS] [TEST_FILE...]
#   defaults: --rate 2000 --seconds 20 --outage-ms 3000, every test/fault/*.test.js
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HAJIB_ROOT"

rate=2000 seconds=20 outage_ms=3000 files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --outage-ms) outage_ms="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) files+=("$(basename "$1")"); shift ;;
  esac
done

if [ -z "${HAJIB_BIN:-}" ]; then
  echo "== build (RelWithDebInfo)"
  build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  HAJIB_BIN="$HAJIB_ROOT/build/hajib"
fi
[ -d test/e2e/node_modules/smpp ] || (cd test/e2e && npm ci --no-audit --no-fund)

report=$(mktemp)
trap 'rm -f "$report"' EXIT
echo "== fault suite: $rate msg/s for $seconds s per scenario, outages of $outage_ms ms, $HAJIB_BIN"
status=0
(cd test/fault && HAJIB_BIN="$HAJIB_BIN" FAULT_RATE="$rate" FAULT_SECONDS="$seconds" FAULT_OUTAGE_MS="$outage_ms" \
  FAULT_REPORT="$report" node --test --test-concurrency=1 "${files[@]}") || status=$?
echo
echo "== figures ($rate msg/s, $seconds s)"
node test/fault/table.js "$report"
exit $status
