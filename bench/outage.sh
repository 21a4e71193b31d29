#!/usr/bin/env bash
# Store outage: TestStoreOutage (cmd/tidings/outage_test.go) with Redis
# stopped for SECONDS (default 10) while `tidings serve` takes reads, searches,
# comment posts and sign-ups, then started again on the same port from its
# dump. Prints the test's figures: answers by status, the slowest answer
# during the outage, the time to recover, and anything lost (must be 0).
# CI runs the same test with a 3-second outage.
# Usage: bench/outage.sh [SECONDS]
#   TIDINGS_OUTAGE_MODE=freeze  hang the server (SIGSTOP/SIGCONT) instead
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Store outage (${TIDINGS_OUTAGE_MODE:-stop}) of ${1:-10} s (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
TIDINGS_OUTAGE_SECONDS=${1:-10} TIDINGS_TEST_REQUIRE=redis \
  go test -count=1 -timeout 10m -run 'TestStoreOutage' -v ./cmd/tidings 2>&1 |
  grep -E 'outage_test.go|^(--- |ok|FAIL)' | sed 's/^ *outage_test.go:[0-9]*: /  /'
