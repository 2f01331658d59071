#!/usr/bin/env bash
# run-client.sh compares ioloop's HTTP client as a load generator
# (`ioloop bench http`) with wrk against the same nginx: nginx (one worker)
# pinned to CPU 0, the load generator (one thread or loop) pinned to CPU 1,
# 256 connections, keep-alive and 16-deep pipelining, interleaved rounds.
# The ratio is ioloop's req/s over wrk's (the issue asks >= 0.9).
#
# Usage: bench/run-client.sh [ROUNDS] [SECONDS]
# Needs: nginx (nginx-light), wrk, taskset, go. Loopback only.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-3}
secs=${2:-5}
for t in nginx wrk taskset; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "run-client.sh: $t is required" >&2; exit 1; }
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
ulimit -n 65536 2>/dev/null || true
mkdir -p bin
(cd .. && go build -o bench/bin/ioloop ./cmd/ioloop)

dir=$(mktemp -d)
port=$((23000 + RANDOM % 1000))
cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 65536; }
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    client_body_temp_path $dir/body;
    server {
        listen 127.0.0.1:$port;
        location = /plaintext { return 200 "Hello, World!"; }
    }
}
EOF
taskset -c 0 "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
npid=$!
trap 'kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null; rm -rf "$dir"' EXIT
url="http://127.0.0.1:$port/plaintext"
for i in $(seq 50); do
	curl -sf "$url" >/dev/null 2>&1 && break
	sleep 0.1
done

wrk_rps() { # pipeline
	WRK_PIPELINE=$1 taskset -c 1 wrk -t1 -c256 -d"${secs}s" -s http/pipeline.lua "$url" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}
ioloop_rps() { # pipeline
	taskset -c 1 bin/ioloop bench http --target "$url" --conns 256 --loops 1 --pipeline "$1" --duration "${secs}s" --json 2>/dev/null |
		python3 -c 'import json,sys; print(round(json.load(sys.stdin)["ops_per_s"]))'
}

echo "| pipeline | round | wrk req/s | ioloop bench http req/s | ratio |"
echo "|---:|---:|---:|---:|---:|"
for p in 1 16; do
	taskset -c 1 wrk -t1 -c256 -d2s "$url" >/dev/null # warm-up
	for r in $(seq "$rounds"); do
		if [ $((r % 2)) -eq 1 ]; then
			w=$(wrk_rps "$p"); i=$(ioloop_rps "$p")
		else
			i=$(ioloop_rps "$p"); w=$(wrk_rps "$p")
		fi
		echo "| $p | $r | $w | $i | $(python3 -c "print(f'{$i/$w:.2f}')") |"
	done
done
