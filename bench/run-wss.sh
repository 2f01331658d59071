#!/usr/bin/env bash
# run-wss.sh: build the WSS (WebSocket over TLS) echo servers and bin/wsload
# into bench/bin and run the WSS echo benchmark. All flags go to
# bin/runwss (see README.md), e.g.
#   ./run-wss.sh -rounds 3 -window 3s
#   ./run-wss.sh -servers gorilla,ioloop -pipelines 1
set -euo pipefail
cd "$(dirname "$0")"

command -v taskset >/dev/null || { echo "run-wss.sh: taskset (util-linux) is required" >&2; exit 1; }
if [ "$(getconf _NPROCESSORS_ONLN)" -lt 2 ]; then
	echo "run-wss.sh: needs at least 2 CPUs (server and client are pinned apart)" >&2
	exit 1
fi

# 1,000 connections on each side of one process pair need more than 1024
# descriptors when limits are tight.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mkdir -p bin out
go build -o bin/runwss ./cmd/runwss

# runwss kills its children on SIGINT/SIGTERM (and they die with it);
# forward our signals to it and wait.
bin/runwss "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; exit 130' INT TERM
wait "$pid"
