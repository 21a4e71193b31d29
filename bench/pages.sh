#!/usr/bin/env bash
# Page benchmark: wrk (2 threads, 64 connections, loopback) against the home
# page and a story page of the real site over ~300 stories, on SQLite and on a
# redis-server started here on a free port (never 6379), each next to the
# ceiling measured in the same run: Echo returning the same bytes from memory.
# Usage: bench/pages.sh [DURATION]   (default: 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
command -v wrk >/dev/null || { echo "pages.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
go build -o /tmp/tidings-pages ./bench/pages

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
trap 'kill $(cat "$dir/redis.pid") 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

/tmp/tidings-pages -header -d "$duration"
/tmp/tidings-pages -d "$duration" -store "redis://127.0.0.1:$port/0"
