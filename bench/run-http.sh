#!/usr/bin/env bash
# run-http.sh: build every HTTP plaintext server and tool into bench/bin and
# run the HTTP benchmark. All flags go to bin/runhttp (see README.md), e.g.
#   ./run-http.sh -window 3s -rounds 1
#   ./run-http.sh -servers c,fasthttp,ioloop,nginx
# wrk, nginx (nginx-light), curl, gcc and taskset are needed; wrk and
# nginx-light are installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
	echo "run-http.sh: installing ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
# The Debian package may start a system nginx on port 80; the harness runs its
# own instances on 127.0.0.1 with a generated config and never touches it.
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

command -v taskset >/dev/null || { echo "run-http.sh: taskset (util-linux) is required" >&2; exit 1; }
command -v gcc >/dev/null || { echo "run-http.sh: gcc is required" >&2; exit 1; }
if [ "$(getconf _NPROCESSORS_ONLN)" -lt 2 ]; then
	echo "run-http.sh: needs at least 2 CPUs (server and wrk are pinned apart)" >&2
	exit 1
fi

# 10,000 idle connections need more descriptors than the usual 1024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p bin out
go build -o bin/runhttp ./cmd/runhttp

# runhttp kills its children on SIGINT/SIGTERM (and they die with it);
# forward our signals to it and wait.
bin/runhttp -nginx "$nginx_bin" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; exit 130' INT TERM
wait "$pid"
