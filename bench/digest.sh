#!/usr/bin/env bash
# Digest send benchmark: N confirmed subscribers receive a ~10 KB issue through
# a loopback SMTP sink running in its own process, on SQLite and on a
# redis-server started here on a free port (never 6379), next to a bare
# go-mail loop into the same sink (the ceiling).
# Usage: bench/digest.sh [SUBSCRIBERS]   (default 100000)
#   STORIES=N   stories in the issue (default 4: ~10 KB of HTML and text)
#   STORES="sqlite redis"   which stores to run
#   INPROCESS=1 run the sink inside the sending process instead
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
go build -o /tmp/tidings-digest ./bench/digest

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
sinkpid=
trap 'kill $(cat "$dir/redis.pid") $sinkpid 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

# sink PHASE ARGS…: runs one phase against a fresh sink process, then stops
# the sink, which prints how many messages it received.
sink() {
  if [ -n "${INPROCESS:-}" ]; then /tmp/tidings-digest "$@"; return; fi
  rm -f "$dir/sink.addr"
  /tmp/tidings-digest -phase sink -addr-file "$dir/sink.addr" &
  sinkpid=$!
  until [ -s "$dir/sink.addr" ]; do sleep 0.05; done
  /tmp/tidings-digest "$@" -smtp "$(cat "$dir/sink.addr")"
  kill "$sinkpid"; wait "$sinkpid" || true; sinkpid=
}

for kind in ${STORES:-sqlite redis}; do
  case $kind in
    sqlite) st="sqlite:$dir/digest.db" ;;
    redis) st="redis://127.0.0.1:$port/0" ;;
  esac
  echo "== $kind with $n subscribers (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  /tmp/tidings-digest -phase populate -store "$st" -subscribers "$n" -stories "${STORIES:-4}"
  sink -phase ceiling -store "$st" -messages "$n"
  sink -phase send -store "$st"
done
