#!/usr/bin/env bash
# run-echo.sh: build every echo server and tool into bench/bin and run the
# echo benchmark. All flags go to bin/runbench (see README.md), e.g.
#   ./run-echo.sh -window 5s -rounds 3
#   ./run-echo.sh -servers c,gnet,ioloop -pipelines 16
set -euo pipefail
cd "$(dirname "$0")"

command -v taskset >/dev/null || { echo "run-echo.sh: taskset (util-linux) is required" >&2; exit 1; }
command -v gcc >/dev/null || { echo "run-echo.sh: gcc is required" >&2; exit 1; }
if [ "$(getconf _NPROCESSORS_ONLN)" -lt 2 ]; then
	echo "run-echo.sh: needs at least 2 CPUs (server and clients are pinned apart)" >&2
	exit 1
fi

# 10,000 idle connections need more descriptors than the usual 1024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p bin out
go build -o bin/runbench ./cmd/runbench

# runbench kills its children on SIGINT/SIGTERM (and they die with it);
# forward our signals to it and wait.
bin/runbench "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; exit 130' INT TERM
wait "$pid"
