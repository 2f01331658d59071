package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/bench/internal/procstat"
)

// wrkResult is the JSON line pipeline.lua's done() prints.
type wrkResult struct {
	Requests      float64 `json:"requests"`
	DurationUS    float64 `json:"duration_us"`
	Bytes         float64 `json:"bytes"`
	ConnectErrors int     `json:"connect_errors"`
	ReadErrors    int     `json:"read_errors"`
	WriteErrors   int     `json:"write_errors"`
	StatusErrors  int     `json:"status_errors"`
	Timeouts      int     `json:"timeouts"`
	Depth         int     `json:"depth"`
	Mean          float64 `json:"lat_mean_us"`
	P50           float64 `json:"lat_p50_us"`
	P90           float64 `json:"lat_p90_us"`
	P99           float64 `json:"lat_p99_us"`
	Max           float64 `json:"lat_max_us"`
	// Only from bin/handshakes: failed handshakes, resumed ones (there
	// must be none) and the suite of the last one.
	TLSErrors int    `json:"tls_errors"`
	Resumed   int    `json:"resumed"`
	Cipher    string `json:"cipher"`
}

// errors returns every error the generator counted: a response with a
// status other than 2xx/3xx, a failed read, write or connect, a timeout,
// and with bin/handshakes a failed or resumed handshake.
func (w wrkResult) errors() int {
	return w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.StatusErrors + w.Timeouts + w.TLSErrors + w.Resumed
}

// parseWrk finds pipeline.lua's JSON line in wrk's standard output.
func parseWrk(out []byte) (wrkResult, error) {
	var res wrkResult
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &res) == nil {
			found = true
		}
	}
	if !found {
		return wrkResult{}, fmt.Errorf("no JSON line from wrk in %q", out)
	}
	if res.DurationUS <= 0 {
		return wrkResult{}, fmt.Errorf("wrk reported a duration of %v us", res.DurationUS)
	}
	return res, nil
}

// runResult is one measured window of one server in one round.
type runResult struct {
	Server      string    `json:"server"`
	Round       int       `json:"round"`
	Workload    string    `json:"workload"` // a workload's name
	Depth       int       `json:"depth"`
	Cipher      string    `json:"tls_cipher,omitempty"`
	Wrk         wrkResult `json:"wrk"`
	ReqPerS     float64   `json:"req_per_s"`
	CPUSeconds  float64   `json:"server_cpu_s"`
	WallS       float64   `json:"cpu_window_s"`
	CPUPerReqUS float64   `json:"server_cpu_us_per_req"`
}

// workload is one measured load: a name for the report and the command
// that generates it.
type workload struct {
	name  string // keepAlive, pipelined or handshake
	depth int    // requests in flight per connection
	// argv returns the generator's command line for a run of d against
	// addr; env is added to its environment.
	argv func(addr string, d time.Duration) []string
	env  []string
}

// The workloads' names.
const (
	keepAlive = "keep-alive"
	pipelined = "pipelined"
	handshake = "handshake"
)

// wrkArgv is wrk's command line: -threads threads, -conns connections,
// pipeline.lua, for d whole seconds.
func wrkArgv(c config, script, url string, d time.Duration) []string {
	return []string{c.wrk, "-t", itoa(c.threads), "-c", itoa(c.conns),
		"-d", fmt.Sprintf("%ds", int(d/time.Second)), "--timeout", "5s", "-s", script, url}
}

// workloads returns the workloads of the mode: keep-alive and pipelined
// wrk runs over HTTP, keep-alive wrk over HTTPS and full handshakes
// (bin/handshakes) with -tls.
func workloads(c config, bin, script string) []workload {
	if !c.tls {
		wl := func(name string, depth int) workload {
			return workload{name: name, depth: depth,
				argv: func(addr string, d time.Duration) []string {
					return wrkArgv(c, script, "http://"+addr+"/plaintext", d)
				},
				env: []string{fmt.Sprintf("WRK_PIPELINE=%d", depth)}}
		}
		return []workload{wl(keepAlive, 1), wl(pipelined, c.depth)}
	}
	return []workload{
		{name: keepAlive, depth: 1,
			argv: func(addr string, d time.Duration) []string {
				return wrkArgv(c, script, "https://"+addr+"/plaintext", d)
			},
			env: []string{"WRK_PIPELINE=1", "WRK_PATH=/plaintext"}},
		{name: handshake, depth: 1,
			argv: func(addr string, d time.Duration) []string {
				return []string{filepath.Join(bin, "handshakes"), "-addr", addr, "-ca", c.cert,
					"-conns", itoa(c.hsConns), "-duration", d.String(), "-path", "/plaintext"}
			}},
	}
}

// measure runs one warm-up and one measured run of w against the server
// p on addr.
func measure(c config, w workload, p *proc, addr string, tick float64, warmup time.Duration) (runResult, error) {
	if warmup > 0 {
		if _, _, err := runLoad(c, w.argv(addr, warmup), w.env, p, warmup); err != nil {
			return runResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	res, cpu, err := runLoad(c, w.argv(addr, c.window), w.env, p, c.window)
	if err != nil {
		return runResult{}, err
	}
	if res.Requests <= 0 {
		return runResult{}, errors.New("the load generator completed no request")
	}
	r := runResult{Workload: w.name, Depth: w.depth, Wrk: res, ReqPerS: res.Requests * 1e6 / res.DurationUS,
		CPUSeconds: cpu.ticks / tick, WallS: cpu.wall.Seconds()}
	r.CPUPerReqUS = r.CPUSeconds * 1e6 / res.Requests
	return r, nil
}

type cpuWindow struct {
	ticks float64
	wall  time.Duration
}

// runWrk runs wrk pinned for d with pipeline.lua over HTTP and samples the
// server's CPU time at the script's window markers.
func runWrk(c config, script string, p *proc, addr string, depth int, d time.Duration) (wrkResult, cpuWindow, error) {
	return runLoad(c, wrkArgv(c, script, "http://"+addr+"/plaintext", d),
		[]string{fmt.Sprintf("WRK_PIPELINE=%d", depth)}, p, d)
}

// runLoad runs a load generator (wrk with pipeline.lua, or bin/handshakes:
// both mark their window on standard error and print pipeline.lua's JSON
// line) pinned for about d, and samples the server's CPU time (its whole
// process tree) at the window markers. It is killed 30 s past d.
func runLoad(c config, argv, env []string, p *proc, d time.Duration) (wrkResult, cpuWindow, error) {
	pids := procstat.Tree(p.pid) // listed once: the markers must be sampled at once
	snap := func() (time.Time, float64) {
		var total float64
		for _, pid := range pids {
			if t, err := procstat.CPUTicks(pid); err == nil {
				total += t
			}
		}
		return time.Now(), total
	}
	cmd := pinned(c.clientCPU, argv)
	cmd.Env = append(os.Environ(), env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return wrkResult{}, cpuWindow{}, err
	}
	if err := cmd.Start(); err != nil {
		return wrkResult{}, cpuWindow{}, err
	}
	track(cmd.Process.Pid)
	defer untrack(cmd.Process.Pid)
	timer := time.AfterFunc(d+30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var t0, t1 time.Time
	var c0, c1 float64
	starts, ends := 0, 0
	var other []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		switch line := strings.TrimSpace(sc.Text()); line {
		case "window-start":
			// setup() runs once per wrk thread; the first marks the start.
			if starts++; starts == 1 {
				t0, c0 = snap()
			}
		case "window-end":
			ends++
			t1, c1 = snap()
		default:
			if len(other) < 10 {
				other = append(other, line)
			}
		}
	}
	werr := cmd.Wait()
	if werr != nil {
		return wrkResult{}, cpuWindow{}, fmt.Errorf("%s: %v %s", filepath.Base(argv[0]), werr, strings.Join(other, " | "))
	}
	if starts == 0 || ends != 1 {
		return wrkResult{}, cpuWindow{}, fmt.Errorf("%s marked %d window starts and %d ends (is it the harness's script?)", filepath.Base(argv[0]), starts, ends)
	}
	res, err := parseWrk(stdout.Bytes())
	if err != nil {
		return wrkResult{}, cpuWindow{}, err
	}
	return res, cpuWindow{ticks: c1 - c0, wall: t1.Sub(t0)}, nil
}

// idleResult is one idle-memory measurement.
type idleResult struct {
	Server       string  `json:"server"`
	Round        int     `json:"round"`
	RSSBefore    int64   `json:"rss_before_bytes"`
	RSSAfter     int64   `json:"rss_after_bytes"`
	BytesPerConn float64 `json:"bytes_per_conn"`
}

// idleMemory measures the server's RSS (process tree) before and after
// c.idle keep-alive connections that each made one request (over TLS 1.3,
// after a full handshake, with -tls).
func idleMemory(c config, bin string, p *proc, addr string) (idleResult, error) {
	time.Sleep(200 * time.Millisecond)
	pids := procstat.Tree(p.pid)
	before := rssOf(pids)
	fds := fdsOf(pids)
	argv := []string{filepath.Join(bin, "idleconns"), "-addr", addr, "-n", itoa(c.idle), "-http-get", "/plaintext"}
	if c.tls {
		argv = []string{filepath.Join(bin, "idleconns"), "-addr", addr, "-n", itoa(c.idle), "-tls-ca", c.cert, "-http-get", "/plaintext"}
	}
	cmd := pinned(c.clientCPU, argv)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return idleResult{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return idleResult{}, err
	}
	track(cmd.Process.Pid)
	first := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			if n++; n == 1 {
				first <- sc.Text()
			}
		}
		close(first)
		done <- cmd.Wait() // only once stdout is drained (os/exec's rule)
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		untrack(cmd.Process.Pid)
		// Let the server see the resets before the next measurement.
		for i := 0; i < 500 && fdsOf(pids) > fds+10; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var line string
	select {
	case l, ok := <-first:
		if !ok {
			return idleResult{}, errors.New("idleconns exited without establishing its connections")
		}
		line = l
	case <-time.After(60 * time.Second):
		return idleResult{}, errors.New("idleconns did not finish within 60s")
	}
	if !strings.HasPrefix(line, "idle:") {
		return idleResult{}, fmt.Errorf("idleconns said %q", line)
	}
	// Wait until the server holds them all (5 s at most).
	for i := 0; i < 500 && fdsOf(pids) < fds+c.idle; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := fdsOf(pids); n < fds+c.idle {
		return idleResult{}, fmt.Errorf("server holds %d of %d connections", n-fds, c.idle)
	}
	time.Sleep(c.settle)
	after := rssOf(pids)
	if before <= 0 || after <= 0 {
		return idleResult{}, errors.New("cannot read the server's VmRSS")
	}
	return idleResult{RSSBefore: before, RSSAfter: after,
		BytesPerConn: float64(after-before) / float64(c.idle)}, nil
}

// fdsOf sums the open descriptors of pids.
func fdsOf(pids []int) int {
	n := 0
	for _, pid := range pids {
		if k := procstat.FDCount(pid); k > 0 {
			n += k
		}
	}
	return n
}

// rssOf sums VmRSS of pids in bytes.
func rssOf(pids []int) int64 {
	var n int64
	for _, pid := range pids {
		if r, err := procstat.RSS(pid); err == nil {
			n += r
		}
	}
	return n
}
