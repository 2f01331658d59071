#!/usr/bin/env bash
# run.sh: the WebSocket side-by-side benchmarks (ioloop, gorilla/websocket,
# nbio) in interleaved rounds, then a table of medians and ranges with
# ratios of ioloop against both peers.
#
#   ./run.sh                 # 5 rounds
#   ROUNDS=3 ECHO=2s BCAST=20x ./run.sh
#   ./run.sh FILE...         # only the table, from the raw lines of earlier runs
#
# Each round runs every server once, in a rotating order, as a fresh test
# process per server: echo (1,000 connections, 64 B and 4 KiB, for ECHO),
# broadcast (10,000 connections, BCAST broadcasts) and idle memory (10,000
# connections). The servers run in a child process pinned to CPU 0, the
# client in the test process pinned to CPU 1 (WSINTEROP_PIN, see
# bench_test.go). Raw benchmark lines go to $OUT (default a temporary file).
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-5}
ECHO=${ECHO:-3s}
BCAST=${BCAST:-30x}

if [ $# -eq 0 ]; then
	OUT=${OUT:-$(mktemp /tmp/wsinterop-XXXXXX.txt)}
	ulimit -n 20480 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	bin=$(mktemp /tmp/wsinterop-test-XXXXXX)
	trap 'rm -f "$bin"' EXIT
	go test -c -o "$bin" .

	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(go version | cut -d' ' -f3), load average at start $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT"
	servers=(ioloop gorilla nbio)
	for ((r = 0; r < ROUNDS; r++)); do
		for ((k = 0; k < 3; k++)); do
			s=${servers[$(((r + k) % 3))]}
			"$bin" -test.run '^$' -test.bench "^BenchmarkEcho1000/size=(64|4096)/server=$s\$" -test.benchtime "$ECHO" | grep '^Benchmark' | tee -a "$OUT"
			"$bin" -test.run '^$' -test.bench "^BenchmarkBroadcast10k/server=$s\$" -test.benchtime "$BCAST" | grep '^Benchmark' | tee -a "$OUT"
			"$bin" -test.run '^$' -test.bench "^BenchmarkIdle10k/server=$s\$" -test.benchtime 1x | grep '^Benchmark' | tee -a "$OUT"
		done
	done
	echo "# load average at end $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
	echo "raw lines: $OUT" >&2
	set -- "$OUT"
fi

# One line per (benchmark, unit, server) and value, sorted by value; then
# median, min and max per group and the ratios of ioloop's medians.
awk '/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	s = name; sub(/.*server=/, "", s)
	base = name; sub(/\/server=[a-z]+/, "", base); sub(/^Benchmark/, "", base)
	for (i = 3; i < NF; i += 2) if ($(i+1) != "ns/op" && $(i+1) !~ /op$/) print base "|" $(i+1) "|" s, $i
}' "$@" | sort -t' ' -k1,1 -k2,2g | awk '
function num(x) { return (x >= 1000) ? sprintf("%.0f", x) : sprintf("%.3g", x) }
function flush() {
	if (n == 0) return
	m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	split(key, k, "|")
	med[k[1] "|" k[2], k[3]] = m; lo[k[1] "|" k[2], k[3]] = v[1]; hi[k[1] "|" k[2], k[3]] = v[n]; cnt[k[1] "|" k[2], k[3]] = n
	if (!(k[1] "|" k[2] in seen)) { seen[k[1] "|" k[2]] = 1; order[++no] = k[1] "|" k[2] }
	n = 0
}
$1 != key { flush(); key = $1 }
{ v[++n] = $2 }
END {
	flush()
	print ""
	print "| benchmark | metric | ioloop | gorilla | nbio | ioloop ÷ gorilla | ioloop ÷ nbio |"
	print "|---|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= no; i++) {
		split(order[i], k, "|")
		line = "| " k[1] " | " k[2]
		for (j = 1; j <= 3; j++) {
			s = (j == 1) ? "ioloop" : (j == 2) ? "gorilla" : "nbio"
			if ((order[i], s) in med)
				line = line " | " num(med[order[i], s]) " (" num(lo[order[i], s]) "–" num(hi[order[i], s]) ", n=" cnt[order[i], s] ")"
			else
				line = line " | –"
		}
		for (j = 2; j <= 3; j++) {
			s = (j == 2) ? "gorilla" : "nbio"
			if ((order[i], s) in med && med[order[i], s] > 0 && (order[i], "ioloop") in med)
				line = line sprintf(" | %.2f×", med[order[i], "ioloop"] / med[order[i], s])
			else
				line = line " | –"
		}
		print line " |"
	}
}'
