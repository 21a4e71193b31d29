#!/usr/bin/env bash
# Crash run: TestServeSurvivesKills (cmd/tidings/serve_crash_test.go) with
# KILLS SIGKILLs of a real `tidings serve` at random moments, half while it
# polls growing feeds and takes comments and sign-ups, half during a digest
# send, each followed by a restart; on SQLite and on a redis-server the test
# starts on a free port (never 6379). Prints, per store, the counts of
# stories, comments and subscribers lost or duplicated (lost must be 0) and of
# digests sent twice against the messages in flight at the kills.
# Usage: bench/crash.sh [KILLS]   (default 20)
#   RACE=1   build with the race detector (slower)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "Crash run, $kills kills a store (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
start=$(date +%s)
status=0
TIDINGS_CRASH_KILLS=$kills TIDINGS_TEST_REQUIRE=redis \
  go test -race="${RACE:-false}" -count=1 -timeout 60m -run 'TestServeSurvivesKills' -v ./cmd/tidings >"$log" 2>&1 || status=$?
grep -E '^\s+serve_crash_test.go:[0-9]+: .*(kill [0-9]+|send is done|serve is ready)' "$log" | sed 's/^ *serve_crash_test.go:[0-9]*: /  /' || true
echo
# One row a store from the test's "crash figures: key=value …" lines.
grep -o 'crash figures: .*' "$log" | sed 's/^crash figures: //' | awk '
  {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (NR == 1) head = head " | " kv[1]; row = row " | " kv[2] }
    if (NR == 1) { print substr(head, 2) " |"; n = split(head, h, "|"); sep = ""; for (j = 2; j <= n; j++) sep = sep "|---"; print sep "|" }
    print substr(row, 2) " |"; row = ""
  }'
echo
echo "go test took $(( $(date +%s) - start )) s, exit status $status (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$status" -ne 0 ]; then
  grep -E -- '--- FAIL|serve_crash_test.go:[0-9]+: ' "$log" | grep -v -E 'kill [0-9]+|send is done|serve is ready|crash figures' | head -40
fi
exit "$status"
