package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"

	rep "github.com/ioloop/ioloop/bench/internal/report"
)

// runResult is one measured window of one server in one round.
type runResult struct {
	Server     string   `json:"server"`
	Round      int      `json:"round"`
	Pipeline   int      `json:"pipeline"`
	LG         lgResult `json:"wsload"`
	CPUSeconds float64  `json:"server_cpu_s"`
	WallS      float64  `json:"cpu_window_s"`
	CPUPerOpUS float64  `json:"server_cpu_us_per_msg"`
	ClientCPUS float64  `json:"client_cpu_s"`
	FirstError string   `json:"first_error,omitempty"`
}

// summary is one server's medians for one workload.
type summary struct {
	name              string
	opsPerS, cpuPerOp float64
	cpuPct, clientPct float64
	errors            int64
	rounds            int
	// Ratios to the reference server measured in the same round, for
	// the rounds where both were measured.
	rateRatios, cpuRatios []float64
}

// summarize returns the per-server medians of the runs at pipeline p,
// ranked by CPU per message (lowest first), with per-round ratios against
// ref.
func summarize(runs []runResult, p int, ref string) []summary {
	by := map[string][]runResult{}
	refBy := map[int]runResult{}
	for _, r := range runs {
		if r.Pipeline != p {
			continue
		}
		by[r.Server] = append(by[r.Server], r)
		if r.Server == ref {
			refBy[r.Round] = r
		}
	}
	var sums []summary
	for name, rs := range by {
		s := summary{name: name, rounds: len(rs)}
		var rate, cpu, pct, cpct []float64
		for _, r := range rs {
			rate = append(rate, r.LG.OpsPerS)
			cpu = append(cpu, r.CPUPerOpUS)
			if r.WallS > 0 {
				pct = append(pct, 100*r.CPUSeconds/r.WallS)
				cpct = append(cpct, 100*r.ClientCPUS/r.WallS)
			}
			s.errors += r.LG.Errors
			if g, ok := refBy[r.Round]; ok && g.LG.OpsPerS > 0 && g.CPUPerOpUS > 0 {
				s.rateRatios = append(s.rateRatios, r.LG.OpsPerS/g.LG.OpsPerS)
				s.cpuRatios = append(s.cpuRatios, r.CPUPerOpUS/g.CPUPerOpUS)
			}
		}
		s.opsPerS, s.cpuPerOp, s.cpuPct, s.clientPct = rep.Median(rate), rep.Median(cpu), rep.Median(pct), rep.Median(cpct)
		sums = append(sums, s)
	}
	sort.Slice(sums, func(i, j int) bool {
		if sums[i].cpuPerOp != sums[j].cpuPerOp {
			return sums[i].cpuPerOp < sums[j].cpuPerOp
		}
		return sums[i].name < sums[j].name
	})
	return sums
}

// rate formats messages per second as 123.4k or 1.234M.
func rate(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.3fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// ratioCell is the ratio of the medians and, in brackets, the range of the
// per-round ratios when there are several.
func ratioCell(x, ref float64, perRound []float64) string {
	s := rep.Ratio(x, ref)
	if len(perRound) > 1 && s != "–" {
		s += fmt.Sprintf(" (%.2f-%.2f)", slices.Min(perRound), slices.Max(perRound))
	}
	return s
}

// report renders the Markdown report.
func report(c config, chosen []server, runs []runResult, notes map[string]string, loadStart, loadEnd string) string {
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
	fmt.Fprintf(&b, "# WSS echo (WebSocket over TLS)\n\n")
	fmt.Fprintf(&b, "Linux %s, %d CPUs (%s), %s. Servers pinned to CPU %d, `bin/wsload` to CPU %d; "+
		"%d interleaved rounds, %s window after %s warm-up (%s for a later workload of the same process); "+
		"every number is the median. TLS: one ECDSA P-256 self-signed certificate for all, Go's crypto/tls on the client. "+
		"Load average %s at the start, %s at the end.\n\n",
		strings.TrimSpace(string(kernel)), runtime.NumCPU(), cpuModel, runtime.Version(), c.serverCPU, c.clientCPU,
		c.rounds, c.window, c.warmup, c.rewarm, loadStart, loadEnd)
	for _, p := range c.pipelines {
		sums := summarize(runs, p, c.ref)
		if len(sums) == 0 {
			continue
		}
		var ref *summary
		for i := range sums {
			if sums[i].name == c.ref {
				ref = &sums[i]
			}
		}
		fmt.Fprintf(&b, "## %d conns × %d B, %d in flight\n\n", c.conns, c.size, p)
		fmt.Fprintf(&b, "| server | msg/s | server CPU µs/msg | server CPU | wsload CPU | msg/s vs %s | CPU/msg vs %s | errors | rounds |\n", c.ref, c.ref)
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range sums {
			rr, cr := "–", "–"
			switch {
			case s.name == c.ref:
				rr, cr = "1.00×", "1.00×"
			case ref != nil:
				rr = ratioCell(s.opsPerS, ref.opsPerS, s.rateRatios)
				cr = ratioCell(s.cpuPerOp, ref.cpuPerOp, s.cpuRatios)
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.0f%% | %.0f%% | %s | %s | %d | %d |\n",
				s.name, rate(s.opsPerS), s.cpuPerOp, s.cpuPct, s.clientPct, rr, cr, s.errors, s.rounds)
		}
		b.WriteString("\n")
	}
	b.WriteString("Ratios: median over median; in brackets, the range of the ratios taken within each round. " +
		"Server CPU is utime+stime of the server process (all threads, /proc/PID/stat) between wsload's window markers, " +
		"divided by the round trips wsload counted in that window; lower is better. msg/s counts echoes received by wsload. " +
		"Server CPU and wsload CPU are shares of one CPU over the window: when wsload's is near 100%, msg/s is the load generator's limit, not the server's.\n\n")
	var errLines []string
	for _, r := range runs {
		if r.LG.Errors > 0 {
			errLines = append(errLines, fmt.Sprintf("- %s, round %d, %d in flight: %d errors, first: %s\n", r.Server, r.Round+1, r.Pipeline, r.LG.Errors, r.FirstError))
		}
	}
	if len(errLines) > 0 {
		b.WriteString("### Errors\n\nA connection with an error (wrong echo, or a read that failed before the window ended) stops; the others go on.\n\n")
		b.WriteString(strings.Join(errLines, "") + "\n")
	}
	b.WriteString("### Servers\n\n")
	for _, s := range chosen {
		fmt.Fprintf(&b, "- **%s**: %s\n", s.name, s.note)
	}
	if len(notes) > 0 {
		b.WriteString("\n### Left out\n\n")
		names := make([]string, 0, len(notes))
		for n := range notes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "- **%s**: %s\n", n, strings.TrimSpace(notes[n]))
		}
	}
	return b.String()
}
