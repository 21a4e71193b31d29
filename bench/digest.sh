#!/usr/bin/env bash
# Digest send benchmark: N confirmed subscribers receive a ~10 KB issue through
# a loopback SMTP sink, on SQLite and on a redis-server started here on a free
# port (never 6379), next to a bare go-mail loop into the same sink.
# Usage: bench/digest.sh [SUBSCRIBERS]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
go build -o /tmp/tidings-digest ./bench/digest

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
trap 'kill $(cat "$dir/redis.pid") 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

for st in "sqlite:$dir/digest.db" "redis://127.0.0.1:$port/0"; do
  echo "== ${st%%:*} with $n subscribers"
  /tmp/tidings-digest -phase populate -store "$st" -subscribers "$n" -stories "${STORIES:-4}"
  /tmp/tidings-digest -phase ceiling -store "$st" -messages "$n"
  /tmp/tidings-digest -phase send -store "$st"
done
