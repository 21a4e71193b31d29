#!/usr/bin/env bash
# Comments benchmark: a story page with 200 threaded comments under wrk
# (2 threads, 64 connections, loopback, warm cache) next to the ceiling
# measured in the same run (Echo returning the same bytes from memory), then
# comment submissions through POST /stories/:id/comments (wrk with a Lua
# script, each request from its own X-Forwarded-For address) and through
# comments.Service.Submit alone; on SQLite and on a redis-server started here
# on a free port (never 6379).
# Usage: bench/comments.sh [DURATION]   (default: 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
command -v wrk >/dev/null || { echo "comments.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
go build -o /tmp/tidings-comments ./bench/comments

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
trap 'kill $(cat "$dir/redis.pid") 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

echo "Reading (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
/tmp/tidings-comments -mode read -header -d "$duration"
/tmp/tidings-comments -mode read -d "$duration" -store "redis://127.0.0.1:$port/0"
echo
echo "Posting (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
/tmp/tidings-comments -mode post -header -d "$duration"
/tmp/tidings-comments -mode post -d "$duration" -store "redis://127.0.0.1:$port/1"
