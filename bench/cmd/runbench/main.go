// Command runbench is the echo benchmark harness: it builds every echo
// server and the load generators into bench/bin, checks each server for
// correctness, measures it, and prints a Markdown report.
//
// Method (each number is the median over -rounds interleaved rounds; a
// round visits every server once, in alphabetical order):
//
//   - Each server runs as a fresh process pinned to CPU -server-cpu with
//     taskset; every client (load generator, idle connection opener,
//     correctness check) runs on CPU -client-cpu, or in this process.
//   - Correctness: before anything is measured, random messages of 1, 64,
//     1000 and 70000 bytes are sent on two connections and the echo must
//     match byte for byte. A server that fails is dropped from the run.
//   - Idle memory: VmRSS from /proc/PID/status is read once the server is
//     idle, then -idle connections are opened by bin/idleconns; when the
//     server holds them all (its /proc/PID/fd count says so) and -settle has
//     passed, VmRSS is read again. (after-before)/conns is the cost of one
//     idle connection.
//   - Throughput: for each workload (-conns connections, -size bytes, each
//     depth in -pipelines messages in flight per connection) the load
//     generator runs once to warm up (discarded: -warmup before the first
//     workload of a process, -rewarm before later ones, whose process is
//     already warm) and once for -window.
//     Server CPU time is utime+stime of the process line of /proc/PID/stat
//     (all threads), in clock ticks of `getconf CLK_TCK`. It is sampled at
//     the window's edges when the load generator marks them with the lines
//     "window-start"/"window-end" on standard error (bin/loadgen does),
//     else over the load generator's lifetime (which then also counts the
//     accept and close of its connections, a fraction of a percent).
//     Round trips, rate and latency come from the load generator's JSON.
//
// Servers are ranked by server CPU time per round trip: the lower, the
// better. Throughput on a shared loopback mostly measures whichever side
// saturates first; CPU per operation measures the server's own cost.
//
// The load generator is `ioloop bench echo` when bin/ioloop exists (or
// -loadgen ioloop), else bin/loadgen; both take the same flags and print
// the same JSON keys. Every child is killed when runbench exits or is
// interrupted.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
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
	dir       string
	servers   []string
	loadgen   string
	lgURing   bool
	window    time.Duration
	warmup    time.Duration
	rewarm    time.Duration
	rounds    int
	loops     int
	conns     int
	size      int
	pipelines []int
	idle      int
	settle    time.Duration
	serverCPU int
	clientCPU int
	build     bool
	out       string
	basePort  int
}

// server describes how to start one echo server.
type server struct {
	name   string
	goPeer bool // a Go peer (not C, not ioloop): candidate for "best Go peer"
	argv   func(addr string, loops int) []string
}

// baseBin is -base-bin: an earlier build of cmd/ioloop, measured as
// ioloop-base and ioloop-base-uring beside the current one, for checks
// that a change did not regress.
var baseBin string

func peers(bin string) []server {
	peer := func(name string) server {
		return server{name: name, goPeer: name != "c", argv: func(addr string, loops int) []string {
			return []string{filepath.Join(bin, "echo-"+name), "-addr", addr, "-loops", strconv.Itoa(loops)}
		}}
	}
	return []server{
		peer("c"), peer("evio"), peer("gnet"),
		{name: "ioloop", argv: func(addr string, loops int) []string {
			return []string{filepath.Join(bin, "ioloop"), "serve", "--echo", addr, "--loops", strconv.Itoa(loops)}
		}},
		{name: "ioloop-uring", argv: func(addr string, loops int) []string {
			return []string{filepath.Join(bin, "ioloop"), "serve", "--echo", addr, "--loops", strconv.Itoa(loops), "--io-uring"}
		}},
		{name: "ioloop-base", argv: func(addr string, loops int) []string {
			return []string{baseBin, "serve", "--echo", addr, "--loops", strconv.Itoa(loops)}
		}},
		{name: "ioloop-base-uring", argv: func(addr string, loops int) []string {
			return []string{baseBin, "serve", "--echo", addr, "--loops", strconv.Itoa(loops), "--io-uring"}
		}},
		peer("nbio"), peer("net"), peer("netpoll"),
	}
}

// lgResult is the load generator's JSON object.
type lgResult struct {
	Workload string  `json:"workload"`
	Conns    int     `json:"conns"`
	Duration float64 `json:"duration_s"`
	Ops      float64 `json:"ops"`
	OpsPerS  float64 `json:"ops_per_s"`
	MBPerS   float64 `json:"mb_per_s"`
	P50      float64 `json:"p50_us"`
	P90      float64 `json:"p90_us"`
	P99      float64 `json:"p99_us"`
	P999     float64 `json:"p999_us"`
	Errors   float64 `json:"errors"`
}

// runResult is one measured window of one server in one round.
type runResult struct {
	Server     string   `json:"server"`
	Round      int      `json:"round"`
	Pipeline   int      `json:"pipeline"`
	LG         lgResult `json:"loadgen"`
	CPUSeconds float64  `json:"server_cpu_s"`
	WallS      float64  `json:"cpu_window_s"`
	CPUMethod  string   `json:"cpu_method"`
	CPUPerOpUS float64  `json:"server_cpu_us_per_op"`
}

// idleResult is one idle-memory measurement.
type idleResult struct {
	Server      string  `json:"server"`
	Round       int     `json:"round"`
	RSSBefore   int64   `json:"rss_before_bytes"`
	RSSAfter    int64   `json:"rss_after_bytes"`
	BytesPerCon float64 `json:"bytes_per_conn"`
}

// children tracks every process started, so that an interrupt kills them.
var children struct {
	sync.Mutex
	procs map[int]*os.Process
}

func track(p *os.Process) {
	children.Lock()
	if children.procs == nil {
		children.procs = map[int]*os.Process{}
	}
	children.procs[p.Pid] = p
	children.Unlock()
}

func untrack(p *os.Process) {
	children.Lock()
	delete(children.procs, p.Pid)
	children.Unlock()
}

func killAll() {
	children.Lock()
	for _, p := range children.procs {
		_ = p.Kill()
	}
	children.Unlock()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "runbench: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	killAll()
	os.Exit(1)
}

func main() {
	var c config
	var servers, pipelines string
	flag.StringVar(&c.dir, "dir", ".", "the bench directory (holds bin/, out/, echo/)")
	flag.StringVar(&baseBin, "base-bin", "", "an earlier build of cmd/ioloop, measured as ioloop-base and ioloop-base-uring (regression checks)")
	flag.StringVar(&servers, "servers", "", "comma-separated servers (default: all built; ioloop only if it builds)")
	flag.StringVar(&c.loadgen, "loadgen", "auto", "load generator: auto, ioloop or go")
	flag.BoolVar(&c.lgURing, "loadgen-io-uring", false, "run the ioloop load generator with --io-uring (cheaper per round trip, so the server saturates sooner)")
	flag.DurationVar(&c.window, "window", 10*time.Second, "measured window per workload")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up run before the first workload of each server process")
	flag.DurationVar(&c.rewarm, "rewarm", time.Second, "warm-up run before each later workload on the same (already warm) process")
	flag.IntVar(&c.rounds, "rounds", 3, "interleaved rounds")
	flag.IntVar(&c.loops, "loops", 1, "event loops per server (-loops / --loops)")
	flag.IntVar(&c.conns, "conns", 1000, "connections per workload")
	flag.IntVar(&c.size, "size", 64, "message size in bytes")
	flag.StringVar(&pipelines, "pipelines", "1,16", "comma-separated messages in flight per connection; one workload each")
	flag.IntVar(&c.idle, "idle", 10000, "idle connections for the memory measurement (0: skip it)")
	flag.DurationVar(&c.settle, "settle", 1500*time.Millisecond, "wait before reading RSS with the idle connections open")
	flag.IntVar(&c.serverCPU, "server-cpu", 0, "CPU the server is pinned to")
	flag.IntVar(&c.clientCPU, "client-cpu", 1, "CPU the clients are pinned to")
	flag.BoolVar(&c.build, "build", true, "build the servers and tools into bin/ first")
	flag.StringVar(&c.out, "out", "", "Markdown report path (default out/echo-TIMESTAMP.md)")
	flag.IntVar(&c.basePort, "port", 21000, "first TCP port tried for the servers (127.0.0.1 only)")
	flag.Parse()
	for _, f := range strings.Split(pipelines, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 1 {
			fatalf("bad -pipelines %q", pipelines)
		}
		c.pipelines = append(c.pipelines, p)
	}
	if c.rounds < 1 || c.conns < 1 || c.size < 1 || c.window <= 0 || c.warmup < 0 || c.loops < 1 {
		fatalf("-rounds, -conns, -size, -loops must be >= 1 and -window > 0")
	}
	if servers != "" {
		c.servers = strings.Split(servers, ",")
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
	if c.build {
		build(dir, bin)
	}
	tick := clockTicks()

	all := peers(bin)
	var chosen []server
	for _, s := range all {
		if c.servers != nil && !slices.Contains(c.servers, s.name) {
			continue
		}
		if _, err := os.Stat(s.argv("", 1)[0]); err != nil {
			logf("skipping %s: %s not built", s.name, s.argv("", 1)[0])
			continue
		}
		chosen = append(chosen, s)
	}
	if len(chosen) == 0 {
		fatalf("no server to measure")
	}
	lg := loadgenArgv(c, bin)

	nw := time.Duration(len(c.pipelines))
	per := c.warmup + (nw-1)*c.rewarm + nw*(c.window+600*time.Millisecond) + 300*time.Millisecond
	if c.idle > 0 {
		per += c.settle + 1500*time.Millisecond
	}
	est := time.Duration(c.rounds*len(chosen)) * per
	logf("%d servers x %d rounds x %d workloads, load generator %s; about %v",
		len(chosen), c.rounds, len(c.pipelines), filepath.Base(lg[0]), est.Round(time.Second))

	loadStart := procstat.LoadAvg()
	broken := map[string]string{}
	var runs []runResult
	var idles []idleResult
	port := c.basePort
	start := time.Now()
	for round := 1; round <= c.rounds; round++ {
		for _, s := range chosen {
			if _, bad := broken[s.name]; bad {
				continue
			}
			port = freePort(port + 1)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			proc, err := startServer(c, s, addr)
			if err != nil {
				broken[s.name] = err.Error()
				logf("%s: %v", s.name, err)
				continue
			}
			if err := checkEcho(addr); err != nil {
				broken[s.name] = "correctness check: " + err.Error()
				logf("%s: correctness check failed: %v", s.name, err)
				stopServer(proc)
				continue
			}
			if c.idle > 0 {
				ir, err := idleMemory(c, bin, proc.Pid, addr)
				if err != nil {
					logf("%s: idle memory: %v", s.name, err)
				} else {
					ir.Server, ir.Round = s.name, round
					idles = append(idles, ir)
					logf("round %d %-8s idle: %.0f B/conn (RSS %.1f -> %.1f MiB)", round, s.name,
						ir.BytesPerCon, rep.MiB(ir.RSSBefore), rep.MiB(ir.RSSAfter))
				}
			}
			for i, p := range c.pipelines {
				warm := c.warmup
				if i > 0 {
					warm = c.rewarm
				}
				r, err := measure(c, lg, proc.Pid, addr, p, tick, warm)
				if err != nil {
					logf("%s pipeline %d: %v", s.name, p, err)
					if !alive(proc.Pid) {
						broken[s.name] = "died under load"
						break
					}
					continue
				}
				r.Server, r.Round, r.Pipeline = s.name, round, p
				runs = append(runs, r)
				logf("round %d %-8s x%-2d %9.0f rt/s  p50 %7.1fus  p99 %8.1fus  cpu %5.1f%%  %6.3f us/rt  errors %.0f",
					round, s.name, p, r.LG.OpsPerS, r.LG.P50, r.LG.P99, 100*r.CPUSeconds/r.WallS, r.CPUPerOpUS, r.LG.Errors)
			}
			stopServer(proc)
		}
	}
	logf("done in %v", time.Since(start).Round(time.Second))

	md := report(c, lg, chosen, runs, idles, broken)
	md += fmt.Sprintf("Load average (1/5/15 min) at start %s, at end %s: anything well above 2 means other work shared the CPUs.\n", loadStart, procstat.LoadAvg())
	fmt.Print(md)
	path, err := rep.Save(dir, "echo", c.out, md, map[string]any{"runs": runs, "idle": idles, "broken": broken}, logf)
	if err != nil {
		fatalf("%v", err)
	}
	c.out = path
	logf("report written to %s", c.out)
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

func run(dir string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// build compiles every server and tool into bin; a peer that fails to
// build is reported and left out. ioloop is built from the repository root
// when its command exists.
func build(dir, bin string) {
	if err := os.MkdirAll(bin, 0o755); err != nil {
		fatalf("%v", err)
	}
	for _, t := range []string{"loadgen", "idleconns"} {
		if err := run(dir, "go", "build", "-o", filepath.Join(bin, t), "./cmd/"+t); err != nil {
			fatalf("building %s: %v", t, err)
		}
	}
	for _, p := range []string{"evio", "gnet", "nbio", "net", "netpoll"} {
		_ = os.Remove(filepath.Join(bin, "echo-"+p))
		if err := run(dir, "go", "build", "-o", filepath.Join(bin, "echo-"+p), "./echo/"+p); err != nil {
			logf("building %s failed: %v", p, err)
		}
	}
	_ = os.Remove(filepath.Join(bin, "echo-c"))
	if err := run(dir, "gcc", "-O2", "-o", filepath.Join(bin, "echo-c"), "echo/c/echo.c"); err != nil {
		logf("building c failed: %v", err)
	}
	root := filepath.Dir(dir)
	_ = os.Remove(filepath.Join(bin, "ioloop"))
	if _, err := os.Stat(filepath.Join(root, "cmd", "ioloop")); err == nil {
		if err := run(root, "go", "build", "-o", filepath.Join(bin, "ioloop"), "./cmd/ioloop"); err != nil {
			logf("building ioloop failed (left out): %v", err)
			_ = os.Remove(filepath.Join(bin, "ioloop"))
		}
	} else {
		logf("no cmd/ioloop in %s yet: ioloop left out", root)
	}
}

func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		fatalf("getconf CLK_TCK: %v", err)
	}
	t, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || t <= 0 {
		fatalf("getconf CLK_TCK: %q", out)
	}
	return t
}

func loadgenArgv(c config, bin string) []string {
	ioloop := filepath.Join(bin, "ioloop")
	useIoloop := c.loadgen == "ioloop"
	if c.loadgen == "auto" {
		_, err := os.Stat(ioloop)
		useIoloop = err == nil
	} else if c.loadgen != "go" && c.loadgen != "ioloop" {
		fatalf("-loadgen must be auto, ioloop or go")
	}
	if useIoloop {
		if c.lgURing {
			return []string{ioloop, "bench", "echo", "--io-uring"}
		}
		return []string{ioloop, "bench", "echo"}
	}
	if c.lgURing {
		fatalf("-loadgen-io-uring needs the ioloop load generator")
	}
	return []string{filepath.Join(bin, "loadgen")}
}

// freePort returns the first port from p on that 127.0.0.1 lets us bind.
func freePort(p int) int {
	for ; p < 32000; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return p
		}
	}
	fatalf("no free port below 32000")
	return 0
}

func pinned(cpu int, argv []string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu)}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startServer starts s pinned and waits (10 s at most) for its banner.
func startServer(c config, s server, addr string) (*os.Process, error) {
	cmd := pinned(c.serverCPU, s.argv(addr, c.loops))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(c.dir, "out", "server-"+s.name+".log")
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	logFile.Close()
	track(cmd.Process)
	go func() { _ = cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && strings.TrimSpace(sc.Text()) == "echo listening on "+addr {
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if ok {
			return cmd.Process, nil
		}
		stopServer(cmd.Process)
		return nil, fmt.Errorf("exited without its banner (see %s)", logPath)
	case <-time.After(10 * time.Second):
		stopServer(cmd.Process)
		return nil, errors.New("no banner within 10s")
	}
}

// stopServer sends SIGTERM, and SIGKILL after 2 s.
func stopServer(p *os.Process) {
	_ = p.Signal(syscall.SIGTERM)
	for i := 0; i < 200 && alive(p.Pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	_ = p.Kill()
	untrack(p)
}

// The /proc readers live in bench/internal/procstat, shared with the HTTP
// harness; these names keep this file's call sites short.
var (
	alive      = procstat.Alive
	statFields = procstat.StatFields
	cpuTicks   = procstat.CPUTicks
	rss        = procstat.RSS
	fdCount    = procstat.FDCount
)

// checkEcho sends random messages on two connections and wants them back
// byte for byte, within 5 s.
func checkEcho(addr string) error {
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { errs <- checkConn(addr) }()
	}
	return errors.Join(<-errs, <-errs)
}

func checkConn(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	var sent []byte
	for _, n := range []int{1, 64, 1000, 70000} {
		m := make([]byte, n)
		_, _ = rand.Read(m)
		sent = append(sent, m...)
	}
	werr := make(chan error, 1)
	go func() {
		// Written in four messages with pauses, so that a server that
		// handles only the first read of a connection is caught.
		off := 0
		for _, n := range []int{1, 64, 1000, 70000} {
			if _, err := c.Write(sent[off : off+n]); err != nil {
				werr <- err
				return
			}
			off += n
			time.Sleep(5 * time.Millisecond)
		}
		werr <- nil
	}()
	got := make([]byte, len(sent))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reading the echo: %w", err)
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(got, sent) {
		return errors.New("echoed bytes differ from the bytes sent")
	}
	// Nothing more may arrive.
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var one [1]byte
	if n, _ := c.Read(one[:]); n > 0 {
		return errors.New("server sent more bytes than it received")
	}
	return nil
}

// idleMemory measures the server's RSS before and after c.idle idle
// connections.
func idleMemory(c config, bin string, pid int, addr string) (idleResult, error) {
	time.Sleep(200 * time.Millisecond)
	before, err := rss(pid)
	if err != nil {
		return idleResult{}, err
	}
	fds := fdCount(pid)
	cmd := pinned(c.clientCPU, []string{filepath.Join(bin, "idleconns"), "-addr", addr, "-n", strconv.Itoa(c.idle)})
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return idleResult{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return idleResult{}, err
	}
	track(cmd.Process)
	done := make(chan error, 1)
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		untrack(cmd.Process)
		// Let the server see the resets before the next measurement.
		for i := 0; i < 500 && fdCount(pid) > fds+10; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			go func() { done <- cmd.Wait() }()
			return idleResult{}, errors.New("idleconns exited early")
		}
		line = l
	case <-time.After(60 * time.Second):
		go func() { done <- cmd.Wait() }()
		return idleResult{}, errors.New("idleconns did not finish dialing within 60s")
	}
	go func() { done <- cmd.Wait() }()
	go func() {
		for range lines {
		}
	}()
	if !strings.HasPrefix(line, "idle:") {
		return idleResult{}, fmt.Errorf("idleconns said %q", line)
	}
	// Wait until the server has accepted them all (5 s at most).
	for i := 0; i < 500 && fdCount(pid) < fds+c.idle; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := fdCount(pid); n < fds+c.idle {
		return idleResult{}, fmt.Errorf("server holds %d of %d connections", n-fds, c.idle)
	}
	time.Sleep(c.settle)
	after, err := rss(pid)
	if err != nil {
		return idleResult{}, err
	}
	return idleResult{RSSBefore: before, RSSAfter: after, BytesPerCon: float64(after-before) / float64(c.idle)}, nil
}

// measure runs one warm-up and one measured window of the load generator.
func measure(c config, lg []string, pid int, addr string, pipeline int, tick float64, warmup time.Duration) (runResult, error) {
	args := func(d time.Duration) []string {
		return append(slices.Clone(lg), "--target", addr, "--conns", strconv.Itoa(c.conns),
			"--duration", d.String(), "--size", strconv.Itoa(c.size),
			"--pipeline", strconv.Itoa(pipeline), "--json")
	}
	if warmup > 0 {
		if _, _, err := runLoad(c, args(warmup), pid, warmup); err != nil {
			return runResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	res, cpu, err := runLoad(c, args(c.window), pid, c.window)
	if err != nil {
		return runResult{}, err
	}
	r := runResult{LG: res, CPUSeconds: cpu.ticks / tick, WallS: cpu.wall.Seconds(), CPUMethod: cpu.method}
	if res.Ops > 0 {
		r.CPUPerOpUS = r.CPUSeconds * 1e6 / res.Ops
	}
	return r, nil
}

type cpuWindow struct {
	ticks  float64
	wall   time.Duration
	method string
}

type sample struct {
	t     time.Time
	ticks float64
}

// runLoad runs the load generator pinned, samples the server's CPU time
// at the window markers (or at start and exit), and parses its JSON.
func runLoad(c config, argv []string, pid int, d time.Duration) (lgResult, cpuWindow, error) {
	cmd := pinned(c.clientCPU, argv)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return lgResult{}, cpuWindow{}, err
	}
	snap := func() sample {
		t, _ := cpuTicks(pid)
		return sample{time.Now(), t}
	}
	first := snap()
	if err := cmd.Start(); err != nil {
		return lgResult{}, cpuWindow{}, err
	}
	track(cmd.Process)
	defer untrack(cmd.Process)
	timer := time.AfterFunc(d+60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var ws, we *sample
	var other []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		switch line := strings.TrimSpace(sc.Text()); line {
		case "window-start":
			s := snap()
			ws = &s
		case "window-end":
			s := snap()
			we = &s
		default:
			if len(other) < 20 {
				other = append(other, line)
			}
		}
	}
	werr := cmd.Wait()
	last := snap()
	if werr != nil {
		return lgResult{}, cpuWindow{}, fmt.Errorf("%s: %v %s", filepath.Base(argv[0]), werr, strings.Join(other, " | "))
	}
	var res lgResult
	found := false
	for _, line := range strings.Split(stdout.String(), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &res) == nil {
			found = true
		}
	}
	if !found {
		return lgResult{}, cpuWindow{}, fmt.Errorf("no JSON from the load generator: %q", stdout.String())
	}
	w := cpuWindow{ticks: last.ticks - first.ticks, wall: last.t.Sub(first.t), method: "lifetime"}
	if ws != nil && we != nil {
		w = cpuWindow{ticks: we.ticks - ws.ticks, wall: we.t.Sub(ws.t), method: "window"}
	}
	return res, w, nil
}

type summary struct {
	name                        string
	goPeer                      bool
	opsPerS, p50, p99, cpuPerOp float64
	cpuPct, errors              float64
	rounds                      int
}

// report renders the Markdown report.
func report(c config, lg []string, chosen []server, runs []runResult, idles []idleResult, broken map[string]string) string {
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
	methods := map[string]bool{}
	for _, r := range runs {
		methods[r.CPUMethod] = true
	}
	var m []string
	for k := range methods {
		m = append(m, k)
	}
	sort.Strings(m)
	fmt.Fprintf(&b, "## Echo benchmark (%s)\n\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Linux %s, %s, %d CPUs, %s. Server pinned to CPU %d, clients to CPU %d; %d loop(s) per server. "+
		"Load generator: `%s`. %d conns x %d B; warm-up %v (%v before later workloads on the same process), window %v; median of %d interleaved rounds. "+
		"Server CPU sampled over the %s.\n\n",
		strings.TrimSpace(string(kernel)), cpuModel, runtime.NumCPU(), runtime.Version(), c.serverCPU, c.clientCPU, c.loops,
		strings.Join(append([]string{filepath.Base(lg[0])}, lg[1:]...), " "), c.conns, c.size, c.warmup, c.rewarm, c.window, c.rounds,
		strings.Join(m, "/"))
	fmt.Fprintf(&b, "Ranked by server CPU time per round trip (lower is better).\n\n")

	for _, p := range c.pipelines {
		var sums []summary
		for _, s := range chosen {
			var ops, p50, p99, cpu, pct, errs []float64
			for _, r := range runs {
				if r.Server == s.name && r.Pipeline == p {
					ops = append(ops, r.LG.OpsPerS)
					p50 = append(p50, r.LG.P50)
					p99 = append(p99, r.LG.P99)
					cpu = append(cpu, r.CPUPerOpUS)
					pct = append(pct, 100*r.CPUSeconds/r.WallS)
					errs = append(errs, r.LG.Errors)
				}
			}
			if len(ops) == 0 {
				continue
			}
			total := 0.0
			for _, e := range errs {
				total += e
			}
			sums = append(sums, summary{name: s.name, goPeer: s.goPeer, opsPerS: rep.Median(ops), p50: rep.Median(p50),
				p99: rep.Median(p99), cpuPerOp: rep.Median(cpu), cpuPct: rep.Median(pct), errors: total, rounds: len(ops)})
		}
		sort.Slice(sums, func(i, j int) bool { return sums[i].cpuPerOp < sums[j].cpuPerOp })
		cRef, goBest, goName := 0.0, 0.0, ""
		for _, s := range sums {
			if s.name == "c" {
				cRef = s.cpuPerOp
			}
			if s.goPeer && s.cpuPerOp > 0 && (goBest == 0 || s.cpuPerOp < goBest) {
				goBest, goName = s.cpuPerOp, s.name
			}
		}
		fmt.Fprintf(&b, "### %d conns x %d B, %d in flight per conn\n\n", c.conns, c.size, p)
		fmt.Fprintf(&b, "| server | round trips/s | p50 µs | p99 µs | server CPU | CPU µs/round trip | vs C | vs best Go peer (%s) | errors | rounds |\n", goName)
		fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range sums {
			fmt.Fprintf(&b, "| %s | %.0f | %.1f | %.1f | %.0f%% | %.3f | %s | %s | %.0f | %d |\n",
				s.name, s.opsPerS, s.p50, s.p99, s.cpuPct, s.cpuPerOp, rep.Ratio(s.cpuPerOp, cRef), rep.Ratio(s.cpuPerOp, goBest), s.errors, s.rounds)
		}
		b.WriteString("\n")
	}

	if c.idle > 0 {
		fmt.Fprintf(&b, "### Idle memory, %d connections (settle %v)\n\n", c.idle, c.settle)
		fmt.Fprintf(&b, "| server | RSS before MiB | RSS after MiB | bytes per idle conn | rounds |\n|---|---:|---:|---:|---:|\n")
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
					per = append(per, ir.BytesPerCon)
				}
			}
			if len(per) > 0 {
				rows = append(rows, row{s.name, rep.Median(bf), rep.Median(af), rep.Median(per), len(per)})
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].per < rows[j].per })
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.0f | %d |\n", r.name, r.before, r.after, r.per, r.n)
		}
		b.WriteString("\n")
	}
	if len(broken) > 0 {
		b.WriteString("Left out:\n\n")
		var names []string
		for n := range broken {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "- %s: %s\n", n, broken[n])
		}
		b.WriteString("\n")
	}
	return b.String()
}
