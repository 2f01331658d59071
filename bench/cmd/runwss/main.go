// Command runwss is the WebSocket-over-TLS echo benchmark harness: it
// builds the WSS echo servers (bench/ws/gorilla, bench/ws/nbio,
// bench/ws/ioloop and `ioloop serve --https`) and bin/wsload into bench/bin, writes one ECDSA
// P-256 self-signed certificate (bench/internal/testcert) that every server
// is given, and measures each server in interleaved rounds.
//
// Method (every number is the median over -rounds rounds; round r visits
// the servers in alphabetical order rotated by r):
//
//   - Each server runs as a fresh process per round, pinned to CPU
//     -server-cpu with taskset; bin/wsload runs pinned to -client-cpu.
//   - Before anything is measured, `wsload -check` must pass on the fresh
//     process (binary and text messages of 1 B to 70,000 B, fragments, a
//     ping, the close handshake); a server that fails, or does not start,
//     is left out of the whole run with the reason.
//   - For each depth in -pipelines, wsload opens -conns connections, loads
//     them for -warmup (-rewarm for the later workloads of the same
//     process), then marks a -window; the server's utime+stime (all
//     threads, /proc/PID/stat) is sampled at the two markers and divided
//     by the round trips wsload counted between them.
//
// Servers are ranked by server CPU per message; messages per second and
// both ratios against -ref (gorilla) are reported too. Every child is
// killed when runwss exits or is interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/bench/internal/procstat"
	rep "github.com/ioloop/ioloop/bench/internal/report"
	"github.com/ioloop/ioloop/bench/internal/testcert"
)

// config is the harness's command line.
type config struct {
	dir        string
	servers    []string
	ref        string
	rounds     int
	window     time.Duration
	warmup     time.Duration
	rewarm     time.Duration
	conns      int
	size       int
	pipelines  []int
	loops      int
	serverCPU  int
	clientCPU  int
	build      bool
	out        string
	basePort   int
	ioloopArgs string
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "runwss: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	killAll()
	os.Exit(1)
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// order is the servers in alphabetical order rotated by round.
func order(names []string, round int) []string {
	s := slices.Clone(names)
	slices.Sort(s)
	if len(s) == 0 {
		return s
	}
	k := round % len(s)
	return append(s[k:], s[:k]...)
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("runwss", flag.ContinueOnError)
	servers := fs.String("servers", "gorilla,ioloop,ioloop-lib,nbio", "comma-separated subset of gorilla, ioloop, ioloop-lib, nbio")
	pipelines := fs.String("pipelines", "1,16", "messages in flight per connection, one workload each")
	fs.StringVar(&c.ref, "ref", "gorilla", "the server the ratios are taken against")
	fs.IntVar(&c.rounds, "rounds", 3, "interleaved rounds")
	fs.DurationVar(&c.window, "window", 3*time.Second, "measured window per workload")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "load before the window of a fresh process's first workload")
	fs.DurationVar(&c.rewarm, "rewarm", time.Second, "load before the window of a later workload")
	fs.IntVar(&c.conns, "conns", 1000, "connections")
	fs.IntVar(&c.size, "size", 64, "message size in bytes")
	fs.IntVar(&c.loops, "loops", 1, "event loops (pollers, GOMAXPROCS) per server")
	fs.IntVar(&c.serverCPU, "server-cpu", 0, "CPU the servers are pinned to")
	fs.IntVar(&c.clientCPU, "client-cpu", 1, "CPU wsload is pinned to")
	fs.BoolVar(&c.build, "build", true, "build the servers and wsload into bin/ first")
	fs.StringVar(&c.out, "out", "", "report path (default out/wss-TIMESTAMP.md)")
	fs.IntVar(&c.basePort, "port", 19500, "first port tried on 127.0.0.1")
	fs.StringVar(&c.ioloopArgs, "ioloop-args", "serve --https {addr} --tls-cert {cert} --tls-key {key} --loops {loops}",
		"arguments of bin/ioloop; {addr}, {loops}, {cert} and {key} are replaced")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.pipelines, err = parseInts(*pipelines); err != nil {
		return c, fmt.Errorf("-pipelines: %w", err)
	}
	known := []string{"gorilla", "ioloop", "ioloop-lib", "nbio"}
	for _, s := range strings.Split(*servers, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(known, s) {
			return c, fmt.Errorf("-servers: unknown server %q (know %s)", s, strings.Join(known, ", "))
		}
		if !slices.Contains(c.servers, s) {
			c.servers = append(c.servers, s)
		}
	}
	if c.rounds <= 0 || c.conns <= 0 || c.size <= 0 || c.window <= 0 || c.loops <= 0 {
		return c, fmt.Errorf("-rounds, -conns, -size, -window and -loops must be positive")
	}
	return c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		if err != flag.ErrHelp {
			logf("%v", err)
		}
		os.Exit(2)
	}
	if c.dir, err = os.Getwd(); err != nil {
		fatalf("%v", err)
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "go.mod")); err != nil || !strings.Contains(string(b), "module github.com/ioloop/ioloop/bench\n") {
		fatalf("run me from bench/ (./run-wss.sh)")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		logf("interrupted: killing children")
		killAll()
		os.Exit(130)
	}()

	bin := filepath.Join(c.dir, "bin")
	notes := map[string]string{}
	if c.build {
		if err := build(c.dir, bin, notes); err != nil {
			fatalf("%v", err)
		}
	}
	certFile, keyFile, err := testcert.WriteFiles(filepath.Join(c.dir, "out", "wss-cert"))
	if err != nil {
		fatalf("%v", err)
	}
	tc := certs{cert: certFile, key: keyFile}
	all := map[string]server{}
	for _, s := range servers(c, bin, tc) {
		all[s.name] = s
	}
	var active []string
	for _, n := range c.servers {
		if _, left := notes[n]; !left {
			active = append(active, n)
		}
	}
	for n := range notes {
		if !slices.Contains(c.servers, n) {
			delete(notes, n)
		}
	}
	wsload := filepath.Join(bin, "wsload")
	loadStart := procstat.LoadAvg()
	var runs []runResult
	port := c.basePort
	for round := 0; round < c.rounds; round++ {
		for _, name := range order(active, round) {
			if _, left := notes[name]; left {
				continue
			}
			s := all[name]
			if port, err = freePort(port + 1); err != nil {
				fatalf("%v", err)
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			target := "wss://" + addr + "/ws"
			logf("round %d: %s on %s", round+1, name, addr)
			proc, err := startServer(s, addr, c.serverCPU, filepath.Join(c.dir, "out", "server-wss-"+name+".log"))
			if err != nil {
				notes[name] = "did not start: " + err.Error()
				logf("%s left out: %s", name, notes[name])
				continue
			}
			if err := checkServer(c, wsload, target, tc); err != nil {
				stopServer(proc)
				notes[name] = "failed the echo check: " + err.Error()
				logf("%s left out: %s", name, notes[name])
				continue
			}
			for i, p := range c.pipelines {
				warm := c.rewarm
				if i == 0 {
					warm = c.warmup
				}
				argv := []string{wsload, "-target", target, "-cacert", tc.cert, "-conns", strconv.Itoa(c.conns),
					"-size", strconv.Itoa(c.size), "-pipeline", strconv.Itoa(p), "-warmup", warm.String(),
					"-duration", c.window.String(), "-json"}
				lg, w, err := runLoad(c.clientCPU, argv, proc.Pid, warm+c.window+60*time.Second)
				if err != nil {
					logf("%s, %d in flight: %v", name, p, err)
					notes[name+fmt.Sprintf(" (round %d, %d in flight)", round+1, p)] = err.Error()
					continue
				}
				r := runResult{Server: name, Round: round, Pipeline: p, LG: lg, FirstError: w.firstErr}
				if ticks, terr := procstat.ClockTicks(); terr == nil {
					r.CPUSeconds = w.ticks / ticks
					r.ClientCPUS = w.clientTicks / ticks
				}
				r.WallS = w.wall.Seconds()
				if lg.Ops > 0 {
					r.CPUPerOpUS = r.CPUSeconds * 1e6 / float64(lg.Ops)
				}
				logf("  %d in flight: %.0f msg/s, %.3f µs server CPU/msg, server %.0f%%, wsload %.0f%% of a CPU, %d errors",
					p, lg.OpsPerS, r.CPUPerOpUS, 100*r.CPUSeconds/r.WallS, 100*r.ClientCPUS/r.WallS, lg.Errors)
				runs = append(runs, r)
			}
			stopServer(proc)
		}
	}
	var chosen []server
	for _, n := range active {
		if _, left := notes[n]; !left {
			chosen = append(chosen, all[n])
		}
	}
	md := report(c, chosen, runs, notes, loadStart, procstat.LoadAvg())
	fmt.Print(md)
	path, err := rep.Save(c.dir, "wss", c.out, md, runs, logf)
	if err != nil {
		logf("%v", err)
	} else {
		logf("report written to %s", path)
	}
	killAll()
}

// checkServer runs `wsload -check` pinned to the client CPU.
func checkServer(c config, wsload, target string, tc certs) error {
	cmd := pinned(c.clientCPU, []string{wsload, "-target", target, "-cacert", tc.cert, "-check"})
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	track(cmd.Process)
	defer untrack(cmd.Process)
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}
