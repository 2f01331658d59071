package main

import (
	"fmt"
	rep "github.com/ioloop/ioloop/bench/internal/report"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// summary is one server's medians for one workload.
type summary struct {
	name                         string
	reqPerS, p50, p99, cpuPerReq float64
	cpuPct                       float64
	errors                       int
	rounds                       int
	cipher                       string // the TLS suite (-tls)
}

// summarize returns the per-server medians of the runs of the workload
// named, ranked by CPU per request (lowest first).
func summarize(runs []runResult, workload string) []summary {
	by := map[string][]runResult{}
	for _, r := range runs {
		if r.Workload == workload {
			by[r.Server] = append(by[r.Server], r)
		}
	}
	var sums []summary
	for name, rs := range by {
		var rps, p50, p99, cpu, pct []float64
		errs := 0
		cipher := ""
		for _, r := range rs {
			if cipher == "" {
				cipher = r.Cipher
			} else if r.Cipher != "" && r.Cipher != cipher {
				cipher = "mixed"
			}
			rps = append(rps, r.ReqPerS)
			p50 = append(p50, r.Wrk.P50)
			p99 = append(p99, r.Wrk.P99)
			cpu = append(cpu, r.CPUPerReqUS)
			if r.WallS > 0 {
				pct = append(pct, 100*r.CPUSeconds/r.WallS)
			}
			errs += r.Wrk.errors()
		}
		sums = append(sums, summary{name: name, reqPerS: rep.Median(rps), p50: rep.Median(p50), p99: rep.Median(p99),
			cpuPerReq: rep.Median(cpu), cpuPct: rep.Median(pct), errors: errs, rounds: len(rs), cipher: cipher})
	}
	sort.Slice(sums, func(i, j int) bool {
		if sums[i].cpuPerReq != sums[j].cpuPerReq {
			return sums[i].cpuPerReq < sums[j].cpuPerReq
		}
		return sums[i].name < sums[j].name
	})
	return sums
}

// ms formats a wrk latency in µs as milliseconds; wrk reports 0 for a
// percentile its latency correction pushed out of range (seen with deep
// pipelining), shown as "–".
func ms(us float64) string {
	if us <= 0 {
		return "–"
	}
	if us < 10000 {
		return fmt.Sprintf("%.2f", us/1000)
	}
	return fmt.Sprintf("%.1f", us/1000)
}

// report renders the Markdown report.
func report(c config, chosen []server, runs []runResult, idles []idleResult, notes map[string]string) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	cpuModel := ""
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(ci), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpuModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if c.tls {
		fmt.Fprintf(&b, "## HTTPS benchmark, TLS 1.3 (%s)\n\n", time.Now().Format("2006-01-02 15:04"))
		fmt.Fprintf(&b, "Linux %s, %s, %d CPUs, %s. `GET /plaintext` → `Hello, World!` over TLS 1.3 with one ECDSA P-256 "+
			"self-signed certificate; clients offer X25519 only and never resume. Server pinned to CPU %d, "+
			"load generators to CPU %d; %d loop(s) per server. Keep-alive: wrk (%d thread, %d connections, "+
			"`http/pipeline.lua`). Handshakes: `bin/handshakes`, %d connections in flight, each a new connection, "+
			"a full handshake and one request with `Connection: close`. "+
			"Warm-up %v (%v before the second workload), window %v; median of %d interleaved rounds. "+
			"Server CPU (utime+stime of its process tree) over the load generator's window.\n\n",
			strings.TrimSpace(string(kernel)), cpuModel, runtime.NumCPU(), runtime.Version(), c.serverCPU,
			c.clientCPU, c.loops, c.threads, c.conns, c.hsConns, c.warmup, c.rewarm, c.window, c.rounds)
		b.WriteString("Ranked by server CPU time per request, or per handshake (lower is better).\n\n")
	} else {
		fmt.Fprintf(&b, "## HTTP plaintext benchmark (%s)\n\n", time.Now().Format("2006-01-02 15:04"))
		fmt.Fprintf(&b, "Linux %s, %s, %d CPUs, %s. `GET /plaintext` → `Hello, World!`. Server pinned to CPU %d, "+
			"wrk (%d thread, %d connections, `http/pipeline.lua`) to CPU %d; %d loop(s) per server. "+
			"Warm-up %v (%v before the second workload), window %v; median of %d interleaved rounds. "+
			"Server CPU (utime+stime of its process tree) over wrk's window.\n\n",
			strings.TrimSpace(string(kernel)), cpuModel, runtime.NumCPU(), runtime.Version(), c.serverCPU,
			c.threads, c.conns, c.clientCPU, c.loops, c.warmup, c.rewarm, c.window, c.rounds)
		b.WriteString("Ranked by server CPU time per request (lower is better). With pipelining, wrk's latency is that of a whole batch.\n\n")
	}

	for _, w := range []string{keepAlive, pipelined, handshake} {
		sums := summarize(runs, w)
		if len(sums) == 0 {
			continue
		}
		ref := map[string]float64{}
		for _, s := range sums {
			ref[s.name] = s.cpuPerReq
		}
		rate, per := "req/s", "req"
		switch w {
		case keepAlive:
			fmt.Fprintf(&b, "### %d connections, keep-alive, 1 request in flight per connection\n\n", c.conns)
		case pipelined:
			fmt.Fprintf(&b, "### %d connections, %d requests pipelined per connection\n\n", c.conns, c.depth)
		case handshake:
			fmt.Fprintf(&b, "### Full handshakes: %d in flight, a new connection and one request each\n\n", c.hsConns)
			rate, per = "handshakes/s", "handshake"
		}
		if c.tls {
			fmt.Fprintf(&b, "| server | %s | p50 ms | p99 ms | server CPU | CPU µs/%s | vs nginx | vs fasthttp | TLS suite | errors | rounds |\n", rate, per)
			b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
		} else {
			fmt.Fprintf(&b, "| server | %s | p50 ms | p99 ms | server CPU | CPU µs/%s | vs nginx | vs fasthttp | vs C | errors | rounds |\n", rate, per)
			b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		}
		for _, s := range sums {
			last := rep.Ratio(s.cpuPerReq, ref["c"])
			if c.tls {
				last = strings.TrimPrefix(s.cipher, "TLS_")
			}
			fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.0f%% | %.3f | %s | %s | %s | %d | %d |\n",
				s.name, s.reqPerS, ms(s.p50), ms(s.p99), s.cpuPct, s.cpuPerReq,
				rep.Ratio(s.cpuPerReq, ref["nginx"]), rep.Ratio(s.cpuPerReq, ref["fasthttp"]), last,
				s.errors, s.rounds)
		}
		b.WriteString("\n")
	}

	if c.idle > 0 {
		if c.tls {
			fmt.Fprintf(&b, "### Idle TLS memory, %d connections (full handshake and one request each, then idle; settle %v)\n\n", c.idle, c.settle)
		} else {
			fmt.Fprintf(&b, "### Idle keep-alive memory, %d connections (one request each, then idle; settle %v)\n\n", c.idle, c.settle)
		}
		b.WriteString("| server | RSS before MiB | RSS after MiB | bytes per idle conn | vs nginx | rounds |\n|---|---:|---:|---:|---:|---:|\n")
		type row struct {
			name               string
			before, after, per float64
			n                  int
		}
		var rows []row
		for _, s := range chosen {
			var bf, af, per []float64
			for _, ir := range idles {
				if ir.Server == s.name {
					bf = append(bf, rep.MiB(ir.RSSBefore))
					af = append(af, rep.MiB(ir.RSSAfter))
					per = append(per, ir.BytesPerConn)
				}
			}
			if len(per) > 0 {
				rows = append(rows, row{s.name, rep.Median(bf), rep.Median(af), rep.Median(per), len(per)})
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].per < rows[j].per })
		nginx := 0.0
		for _, r := range rows {
			if r.name == "nginx" {
				nginx = r.per
			}
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.0f | %s | %d |\n", r.name, r.before, r.after, r.per, rep.Ratio(r.per, nginx), r.n)
		}
		b.WriteString("\n")
	}
	if len(notes) > 0 {
		b.WriteString("Left out:\n\n")
		var names []string
		for n := range notes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "- %s: %s\n", n, notes[n])
		}
		b.WriteString("\n")
	}
	return b.String()
}
