package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ioloop/ioloop/bench/internal/procstat"
)

// lgResult is wsload's JSON object.
type lgResult struct {
	Workload string  `json:"workload"`
	Conns    int     `json:"conns"`
	Size     int     `json:"size"`
	Pipeline int     `json:"pipeline"`
	Duration float64 `json:"duration_s"`
	Ops      int64   `json:"ops"`
	OpsPerS  float64 `json:"ops_per_s"`
	Errors   int64   `json:"errors"`
	ConnectS float64 `json:"connect_s"`
}

// parseResult returns the last line of out that is a wsload JSON object.
func parseResult(out string) (lgResult, error) {
	var res lgResult
	found := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		var r lgResult
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &r) == nil && r.Workload != "" {
			res, found = r, true
		}
	}
	if !found {
		return lgResult{}, fmt.Errorf("no JSON from wsload: %q", out)
	}
	return res, nil
}

// cpuWindow is the server's CPU time between wsload's markers, and
// wsload's first error line, if it printed one.
type cpuWindow struct {
	ticks       float64 // the server's
	clientTicks float64 // wsload's own
	wall        time.Duration
	firstErr    string
}

// runLoad runs wsload pinned to cpu, samples the CPU ticks of the server
// pid and of wsload itself at its window-start and window-end lines, and parses its JSON. It kills
// wsload if it outlives limit.
func runLoad(cpu int, argv []string, pid int, limit time.Duration) (lgResult, cpuWindow, error) {
	cmd := pinned(cpu, argv)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return lgResult{}, cpuWindow{}, err
	}
	if err := cmd.Start(); err != nil {
		return lgResult{}, cpuWindow{}, err
	}
	track(cmd.Process)
	defer untrack(cmd.Process)
	timer := time.AfterFunc(limit, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	type sample struct {
		t            time.Time
		ticks, light float64
		err          error
	}
	snap := func() *sample {
		t, err := procstat.CPUTicks(pid)
		l, _ := procstat.CPUTicks(cmd.Process.Pid)
		return &sample{time.Now(), t, l, err}
	}
	var ws, we *sample
	var other []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		switch line := strings.TrimSpace(sc.Text()); line {
		case "window-start":
			ws = snap()
		case "window-end":
			we = snap()
		default:
			if len(other) < 10 {
				other = append(other, line)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		return lgResult{}, cpuWindow{}, fmt.Errorf("wsload: %v: %s", err, strings.Join(other, " | "))
	}
	res, err := parseResult(stdout.String())
	if err != nil {
		return lgResult{}, cpuWindow{}, err
	}
	if ws == nil || we == nil {
		return lgResult{}, cpuWindow{}, errors.New("wsload printed no window markers")
	}
	if ws.err != nil || we.err != nil {
		return lgResult{}, cpuWindow{}, fmt.Errorf("server CPU: %v", errors.Join(ws.err, we.err))
	}
	w := cpuWindow{ticks: we.ticks - ws.ticks, clientTicks: we.light - ws.light, wall: we.t.Sub(ws.t)}
	for _, l := range other {
		if e, ok := strings.CutPrefix(l, "wsload: first error: "); ok {
			w.firstErr = e
		}
	}
	return res, w, nil
}
