// Command runhttp is the HTTP plaintext benchmark harness: it builds every
// HTTP server into bench/bin, checks each one's answer to GET /plaintext
// with curl and with a pipelined burst, measures it under wrk, and prints
// a Markdown report. With -tls it is the HTTPS benchmark instead (see
// tls.go): the TLS servers, GET / over TLS 1.3, keep-alive under wrk,
// full handshakes under bin/handshakes and idle TLS connections.
//
// Method (each number is the median over -rounds interleaved rounds; a
// round visits every server once, in alphabetical order, each time as a
// fresh process):
//
//   - Each server runs pinned to CPU -server-cpu with taskset (nginx's
//     worker inherits the pinning from its master); wrk and the idle
//     connection opener run on CPU -client-cpu.
//   - Correctness, before anything is measured: curl fetches /plaintext
//     twice on one connection; the status must be 200, the body exactly
//     "Hello, World!", Content-Length 13, Content-Type text/plain, a Server
//     header, a Date header within 10 s of now, no Transfer-Encoding, and
//     the second fetch must reuse the connection. Then 16 pipelined GETs,
//     written in three pieces cut inside request heads, must come back as
//     16 such responses in order with nothing after them. A server that
//     fails is left out of the run and reported.
//   - Idle memory: the server's VmRSS (summed over its process tree) is
//     read once it is idle; bin/idleconns then opens -idle connections that
//     each send one keep-alive GET /plaintext, read the response and stay
//     open; when the server holds them all and -settle has passed, VmRSS is
//     read again. (after-before)/conns is the cost of one idle keep-alive
//     connection.
//   - Load: wrk -t -threads -c -conns with bench/http/pipeline.lua, once
//     with 1 request in flight per connection (keep-alive) and once with
//     -depth requests pipelined, each after a discarded warm-up (-warmup
//     for the first workload of a process, -rewarm before the second).
//     Server CPU time is utime+stime of the server's process tree from
//     /proc/PID/stat, in clock ticks of `getconf CLK_TCK`, sampled when the
//     script marks wrk's window (setup, before any connection; done, after
//     wrk's threads stopped and before its sockets close), so it covers
//     wrk's duration. CPU per request is that time over the responses wrk
//     completed; req/s and latency are wrk's.
//
// Servers are ranked by server CPU time per request: the lower, the
// better. On one 2-CPU machine req/s mostly says which side saturated
// first (wrk with one thread often does); CPU per request measures the
// server's own cost.
//
// ioloop's servers are optional: when `go build ./cmd/ioloop` fails, or
// the command line given by -ioloop-args / -ioloop-adapter-args does not
// start or does not answer /plaintext correctly, they are left out with a
// note. Every child is killed when runhttp exits or is interrupted; only
// 127.0.0.1 is used, and every load is bounded in time.
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
	"sync"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/bench/internal/procstat"
	rep "github.com/ioloop/ioloop/bench/internal/report"
)

// config is the harness's command line.
type config struct {
	dir         string
	servers     []string
	window      time.Duration
	warmup      time.Duration
	rewarm      time.Duration
	rounds      int
	loops       int
	conns       int
	depth       int
	threads     int
	idle        int
	settle      time.Duration
	serverCPU   int
	clientCPU   int
	build       bool
	out         string
	basePort    int
	ioloopArgs  string
	adapterArgs string
	wrk         string
	baseBin     string // -base-bin: an earlier cmd/ioloop build (ioloop-base)
	nginx       string
	tls         bool   // -tls: the HTTPS benchmark
	hsConns     int    // -hs-conns: handshakes in flight
	httpsArgs   string // -ioloop-https-args
	cert, key   string // the generated certificate and key (-tls)
}

// children tracks every process started (with nginx's workers), so that
// an interrupt kills them all.
var children struct {
	sync.Mutex
	pids map[int]bool
}

func track(pids ...int) {
	children.Lock()
	if children.pids == nil {
		children.pids = map[int]bool{}
	}
	for _, p := range pids {
		children.pids[p] = true
	}
	children.Unlock()
}

func untrack(pids ...int) {
	children.Lock()
	for _, p := range pids {
		delete(children.pids, p)
	}
	children.Unlock()
}

func killAll() {
	children.Lock()
	for p := range children.pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	children.Unlock()
	if tlsDir != "" {
		_ = os.RemoveAll(tlsDir)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "runhttp: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	killAll()
	os.Exit(1)
}

func main() {
	var c config
	var servers string
	flag.StringVar(&c.dir, "dir", ".", "the bench directory (holds bin/, out/, http/)")
	flag.StringVar(&servers, "servers", "", "comma-separated servers (default: all that build): "+
		strings.Join(serverNames, ",")+"; with -tls: "+strings.Join(tlsServerNames, ","))
	flag.DurationVar(&c.window, "window", 5*time.Second, "measured wrk duration per workload (whole seconds)")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up wrk run before the first workload of each server process (whole seconds, 0: none)")
	flag.DurationVar(&c.rewarm, "rewarm", time.Second, "warm-up wrk run before the second workload (whole seconds, 0: none)")
	flag.IntVar(&c.rounds, "rounds", 3, "interleaved rounds")
	flag.IntVar(&c.loops, "loops", 1, "event loops (or GOMAXPROCS) per server")
	flag.IntVar(&c.conns, "conns", 256, "wrk connections")
	flag.IntVar(&c.depth, "depth", 16, "requests pipelined per connection in the pipelined workload")
	flag.IntVar(&c.threads, "threads", 1, "wrk threads")
	flag.IntVar(&c.idle, "idle", 10000, "idle keep-alive connections for the memory measurement (0: skip it)")
	flag.DurationVar(&c.settle, "settle", 1500*time.Millisecond, "wait before reading RSS with the idle connections open")
	flag.IntVar(&c.serverCPU, "server-cpu", 0, "CPU the server is pinned to")
	flag.IntVar(&c.clientCPU, "client-cpu", 1, "CPU wrk and idleconns are pinned to")
	flag.BoolVar(&c.build, "build", true, "build the servers and tools into bin/ first")
	flag.StringVar(&c.out, "out", "", "Markdown report path (default out/http-TIMESTAMP.md)")
	flag.IntVar(&c.basePort, "port", 22000, "first TCP port tried for the servers (127.0.0.1 only)")
	flag.StringVar(&c.ioloopArgs, "ioloop-args", "serve --http {addr} --loops {loops}",
		"arguments of bin/ioloop for the native HTTP server; {addr} and {loops} are replaced")
	flag.StringVar(&c.adapterArgs, "ioloop-adapter-args", "serve --http {addr} --loops {loops} --adapter",
		"arguments of bin/ioloop for the net/http adapter server (empty: leave it out)")
	flag.StringVar(&c.wrk, "wrk", "wrk", "the wrk binary")
	flag.StringVar(&c.baseBin, "base-bin", "", "an earlier build of cmd/ioloop, measured as ioloop-base and ioloop-base-uring (regression checks)")
	flag.StringVar(&c.nginx, "nginx", "nginx", "the nginx binary")
	flag.BoolVar(&c.tls, "tls", false, "the HTTPS benchmark: TLS 1.3 servers, keep-alive, full handshakes, idle TLS connections")
	flag.IntVar(&c.hsConns, "hs-conns", 64, "with -tls: connections in flight in the full-handshake workload")
	flag.StringVar(&c.httpsArgs, "ioloop-https-args", "serve --https {addr} --tls-cert {cert} --tls-key {key} --loops {loops}",
		"with -tls: arguments of bin/ioloop for the HTTPS server; {addr}, {cert}, {key} and {loops} are replaced")
	flag.Parse()
	if err := c.validate(); err != nil {
		fatalf("%v", err)
	}
	if servers != "" {
		names := c.serverNames()
		for _, s := range strings.Split(servers, ",") {
			if s = strings.TrimSpace(s); !slices.Contains(names, s) {
				fatalf("unknown server %q (known: %s)", s, strings.Join(names, ","))
			}
			c.servers = append(c.servers, strings.TrimSpace(s))
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		logf("%v: killing children", s)
		killAll()
		os.Exit(130)
	}()
	raiseNofile()

	dir, err := filepath.Abs(c.dir)
	if err != nil {
		fatalf("%v", err)
	}
	c.dir = dir
	bin := filepath.Join(dir, "bin")
	notes := map[string]string{} // servers left out, and why
	if c.build {
		build(dir, bin, c.tls, notes)
	}
	tick, err := procstat.ClockTicks()
	if err != nil {
		fatalf("%v", err)
	}
	script := filepath.Join(dir, "http", "pipeline.lua")
	if _, err := os.Stat(script); err != nil {
		fatalf("%v", err)
	}
	if c.tls {
		certDir, err := setupTLS(&c)
		if err != nil {
			fatalf("%v", err)
		}
		defer os.RemoveAll(certDir)
	}
	loads := workloads(c, bin, script)
	chosen := choose(c, bin, notes)
	if len(chosen) == 0 {
		fatalf("no server to measure")
	}
	per := c.warmup + c.rewarm + time.Duration(len(loads))*(c.window+300*time.Millisecond) + 800*time.Millisecond
	if c.idle > 0 {
		per += c.settle + 3*time.Second
	}
	logf("%d servers x %d rounds; about %v", len(chosen), c.rounds, (time.Duration(c.rounds*len(chosen)) * per).Round(time.Second))

	loadStart := procstat.LoadAvg()
	var runs []runResult
	var idles []idleResult
	port := c.basePort
	start := time.Now()
	for round := 1; round <= c.rounds; round++ {
		for _, s := range chosen {
			if _, bad := notes[s.name]; bad {
				continue
			}
			port = freePort(port + 1)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			p, err := startServer(c, s, addr)
			if err != nil {
				notes[s.name] = "did not start: " + err.Error()
				logf("%s: %v", s.name, err)
				continue
			}
			cipher, err := c.check(addr)
			if err != nil {
				notes[s.name] = "failed the response check: " + err.Error()
				logf("%s: response check failed: %v", s.name, err)
				p.stop()
				continue
			}
			if c.idle > 0 {
				ir, err := idleMemory(c, bin, p, addr)
				if err != nil {
					logf("%s: idle memory: %v", s.name, err)
				} else {
					ir.Server, ir.Round = s.name, round
					idles = append(idles, ir)
					logf("round %d %-14s idle: %.0f B/conn (RSS %.1f -> %.1f MiB)", round, s.name,
						ir.BytesPerConn, rep.MiB(ir.RSSBefore), rep.MiB(ir.RSSAfter))
				}
			}
			for i, w := range loads {
				warm := c.warmup
				if i > 0 {
					warm = c.rewarm
				}
				r, err := measure(c, w, p, addr, tick, warm)
				if err != nil {
					logf("%s %s: %v", s.name, w.name, err)
					if !procstat.Alive(p.pid) {
						notes[s.name] = "died under load"
						break
					}
					continue
				}
				r.Server, r.Round, r.Cipher = s.name, round, cipher
				runs = append(runs, r)
				logf("round %d %-14s %-10s %9.0f req/s  p50 %8.0fus  p99 %8.0fus  cpu %5.1f%%  %7.3f us/req  errors %d",
					round, s.name, w.name, r.ReqPerS, r.Wrk.P50, r.Wrk.P99, 100*r.CPUSeconds/r.WallS, r.CPUPerReqUS, r.Wrk.errors())
			}
			p.stop()
		}
	}
	logf("done in %v", time.Since(start).Round(time.Second))

	md := report(c, chosen, runs, idles, notes)
	md += fmt.Sprintf("Load average (1/5/15 min) at start %s, at end %s: anything well above 2 means other work shared the CPUs.\n",
		loadStart, procstat.LoadAvg())
	fmt.Print(md)
	path, err := rep.Save(dir, c.scheme(), c.out, md, map[string]any{"runs": runs, "idle": idles, "left_out": notes}, logf)
	if err != nil {
		fatalf("%v", err)
	}
	c.out = path
	logf("report written to %s", c.out)
}

// validate checks the flags that must hold whole seconds (wrk's -d) and
// the bounds of the others.
func (c *config) validate() error {
	for name, d := range map[string]time.Duration{"-window": c.window, "-warmup": c.warmup, "-rewarm": c.rewarm} {
		if d < 0 || d%time.Second != 0 {
			return fmt.Errorf("%s must be whole seconds, got %v", name, d)
		}
	}
	if c.window < time.Second {
		return fmt.Errorf("-window must be at least 1s")
	}
	if c.rounds < 1 || c.loops < 1 || c.conns < 1 || c.depth < 2 || c.threads < 1 || c.idle < 0 {
		return fmt.Errorf("-rounds, -loops, -conns, -threads must be >= 1, -depth >= 2, -idle >= 0")
	}
	if c.conns < c.threads {
		return fmt.Errorf("-conns must be at least -threads")
	}
	if c.hsConns < 1 || c.hsConns > 4096 {
		return fmt.Errorf("-hs-conns must be within 1..4096")
	}
	return nil
}

// scheme is "https" with -tls, else "http": it names the banner the
// servers print, the reports and the server logs.
func (c *config) scheme() string {
	if c.tls {
		return "https"
	}
	return "http"
}

// serverNames returns the servers known in the mode.
func (c *config) serverNames() []string {
	if c.tls {
		return tlsServerNames
	}
	return serverNames
}

// check runs the mode's correctness checks against the server on addr;
// with -tls it returns the TLS 1.3 suite negotiated.
func (c *config) check(addr string) (cipher string, err error) {
	if c.tls {
		return checkTLS(addr, c.cert)
	}
	return "", checkServer(addr, c.depth)
}

// raiseNofile lifts the soft RLIMIT_NOFILE to the hard limit; children
// inherit it.
func raiseNofile() {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return
	}
	r.Cur = r.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		logf("setrlimit: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
