#!/usr/bin/env bash
# Soak: `tidings serve` as its own process over 2,000 stories, driven on
# loopback by an open-loop mix at a fixed rate (70% page reads, 15%
# searches, 10% comment posts, 5% newsletter sign-ups, each post from its
# own X-Forwarded-For client, confirmation mails to an in-process SMTP sink
# that counts and discards them). Every 10 s it samples the server's VmRSS,
# go_goroutines and the latencies; at the end it prints answers by kind and
# status, p50/p90/p99/max, and fails (exit 1) on any 5xx or unanswered
# request, resident memory growth of 10% or more after warm-up, or
# goroutine growth.
# Usage: [DURATION=10m] [RATE=200] [STORE=sqlite|redis] [STORIES=2000]
#        [WARMUP=1m] [KEEP=1] bench/soak.sh
# STORE=redis starts a redis-server here on a free port (never 6379).
# KEEP=1 keeps the temp dir (SQLite file, the server's log).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10m}
rate=${RATE:-200}
kind=${STORE:-sqlite}
stories=${STORIES:-2000}
warmup=${WARMUP:-1m}
go build -o /tmp/tidings-soak-serve ./cmd/tidings
go build -o /tmp/tidings-soak ./bench/soak

store=()
case "$kind" in
sqlite) ;;
redis)
	command -v redis-server >/dev/null || { echo "soak.sh: STORE=redis needs redis-server" >&2; exit 1; }
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	dir=$(mktemp -d)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
	trap 'kill $(cat "$dir/redis.pid") 2>/dev/null; rm -rf "$dir"' EXIT
	until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
	store=(-store "redis://127.0.0.1:$port/0")
	;;
*) echo "soak.sh: STORE=$kind: want sqlite or redis" >&2; exit 1 ;;
esac

echo "Soak on $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
/tmp/tidings-soak -tidings /tmp/tidings-soak-serve -d "$duration" -rate "$rate" -stories "$stories" -warmup "$warmup" ${KEEP:+-keep} "${store[@]}"
