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
}

// errors returns every error wrk counted: a response with a status other
// than 2xx/3xx, a failed read, write or connect, or a timeout.
func (w wrkResult) errors() int {
	return w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.StatusErrors + w.Timeouts
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
	Depth       int       `json:"depth"`
	Wrk         wrkResult `json:"wrk"`
	ReqPerS     float64   `json:"req_per_s"`
	CPUSeconds  float64   `json:"server_cpu_s"`
	WallS       float64   `json:"cpu_window_s"`
	CPUPerReqUS float64   `json:"server_cpu_us_per_req"`
}

// measure runs one warm-up and one measured wrk run of depth requests in
// flight per connection against the server p on addr.
func measure(c config, script string, p *proc, addr string, depth int, tick float64, warmup time.Duration) (runResult, error) {
	if warmup > 0 {
		if _, _, err := runWrk(c, script, p, addr, depth, warmup); err != nil {
			return runResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	res, cpu, err := runWrk(c, script, p, addr, depth, c.window)
	if err != nil {
		return runResult{}, err
	}
	if res.Requests <= 0 {
		return runResult{}, errors.New("wrk completed no request")
	}
	r := runResult{Depth: depth, Wrk: res, ReqPerS: res.Requests * 1e6 / res.DurationUS,
		CPUSeconds: cpu.ticks / tick, WallS: cpu.wall.Seconds()}
	r.CPUPerReqUS = r.CPUSeconds * 1e6 / res.Requests
	return r, nil
}

type cpuWindow struct {
	ticks float64
	wall  time.Duration
}

// runWrk runs wrk pinned for d with pipeline.lua and samples the server's
// CPU time (its whole process tree) at the script's window markers.
func runWrk(c config, script string, p *proc, addr string, depth int, d time.Duration) (wrkResult, cpuWindow, error) {
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
	cmd := pinned(c.clientCPU, []string{c.wrk, "-t", itoa(c.threads), "-c", itoa(c.conns),
		"-d", fmt.Sprintf("%ds", int(d/time.Second)), "--timeout", "5s", "-s", script,
		"http://" + addr + "/plaintext"})
	cmd.Env = append(os.Environ(), fmt.Sprintf("WRK_PIPELINE=%d", depth))
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
		return wrkResult{}, cpuWindow{}, fmt.Errorf("wrk: %v %s", werr, strings.Join(other, " | "))
	}
	if starts == 0 || ends != 1 {
		return wrkResult{}, cpuWindow{}, fmt.Errorf("wrk marked %d window starts and %d ends (is %s the harness's script?)", starts, ends, script)
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
// c.idle keep-alive connections that each made one request.
func idleMemory(c config, bin string, p *proc, addr string) (idleResult, error) {
	time.Sleep(200 * time.Millisecond)
	pids := procstat.Tree(p.pid)
	before := rssOf(pids)
	fds := fdsOf(pids)
	cmd := pinned(c.clientCPU, []string{filepath.Join(bin, "idleconns"), "-addr", addr,
		"-n", itoa(c.idle), "-http-get", "/plaintext"})
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
