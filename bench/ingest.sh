#!/usr/bin/env bash
# Ingest benchmark: cold and warm polls of N feeds × 20 items from loopback, on
# SQLite and on a redis-server started here on a free port (never 6379).
# Usage: bench/ingest.sh [FEEDS...]   (default: 500 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-500 2000}")
[ $# -gt 0 ] || sizes=(500 2000)
go build -o /tmp/tidings-ingest ./bench/ingest

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
trap 'kill $(cat "$dir/redis.pid") 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

echo "| store | feeds×items | cold | gofeed-only ceiling | cold/ceiling | cold CPU/item | ceiling CPU/item | CPU ratio | warm (all 304) | notes |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  /tmp/tidings-ingest -feeds "$n"
  redis-cli -p "$port" flushall >/dev/null
  /tmp/tidings-ingest -feeds "$n" -store "redis://127.0.0.1:$port/0"
done
