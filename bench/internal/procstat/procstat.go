// Package procstat reads what the benchmark harnesses measure about a
// server process from Linux's /proc: CPU time (utime+stime of all threads,
// in clock ticks), resident memory (VmRSS), open descriptors and liveness,
// for one process or for a process and all its descendants (nginx runs a
// master and worker processes).
//
// Contract: every function reads /proc afresh, allocates, and is safe from
// any goroutine; a process that vanished between listing and reading is
// skipped in the tree sums, so a tree sum never fails because a child
// exited. CPU time of exited children that were not reaped is lost, as in
// /proc itself; the harnesses' servers keep their children for their whole
// life. Errors start with "procstat: ".
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// StatFields returns the fields of a /proc/PID/stat line after the command
// name, so that f[0] is field 3 (state), f[1] the parent pid and f[11],
// f[12] are utime and stime. The command name may hold spaces and
// parentheses; a line without ')' gives nil.
func StatFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("procstat: %w", err)
	}
	f := StatFields(b)
	if len(f) < 13 {
		return nil, fmt.Errorf("procstat: short /proc/%d/stat", pid)
	}
	return f, nil
}

// CPUTicks returns utime+stime of pid (all its threads) in clock ticks
// (see ClockTicks).
func CPUTicks(pid int) (float64, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("procstat: bad utime/stime in /proc/%d/stat", pid)
	}
	return u + s, nil
}

// RSS returns VmRSS of pid in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("procstat: bad VmRSS %q", f[0])
				}
				return kb * 1024, nil
			}
		}
	}
	return 0, fmt.Errorf("procstat: no VmRSS in /proc/%d/status", pid)
}

// FDCount returns the number of open descriptors of pid, or -1 if its
// /proc/PID/fd cannot be read.
func FDCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	f, err := stat(pid)
	return err == nil && f[0] != "Z" && f[0] != "X"
}

// Tree returns pid followed by all its descendants, found by scanning the
// parent pid of every process in /proc.
func Tree(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	kids := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := stat(p)
		if err != nil {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			kids[pp] = append(kids[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// TreeCPUTicks is CPUTicks summed over Tree(pid). Only pid itself must
// exist.
func TreeCPUTicks(pid int) (float64, error) {
	return sum(pid, CPUTicks)
}

// TreeRSS is RSS summed over Tree(pid). Only pid itself must exist.
func TreeRSS(pid int) (int64, error) {
	return sum(pid, RSS)
}

// TreeFDCount is FDCount summed over Tree(pid), or -1 if pid's
// descriptors cannot be read.
func TreeFDCount(pid int) int {
	n := FDCount(pid)
	if n < 0 {
		return -1
	}
	for _, p := range Tree(pid)[1:] {
		if k := FDCount(p); k > 0 {
			n += k
		}
	}
	return n
}

func sum[T int64 | float64](pid int, read func(int) (T, error)) (T, error) {
	total, err := read(pid)
	if err != nil {
		return 0, err
	}
	for _, p := range Tree(pid)[1:] {
		if v, err := read(p); err == nil {
			total += v
		}
	}
	return total, nil
}

// ClockTicks returns the kernel's clock ticks per second (`getconf
// CLK_TCK`), the unit of CPUTicks. It runs getconf once per call.
func ClockTicks() (float64, error) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("procstat: getconf CLK_TCK: %w", err)
	}
	t, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || t <= 0 {
		return 0, fmt.Errorf("procstat: getconf CLK_TCK said %q", out)
	}
	return t, nil
}

// LoadAvg returns the 1, 5 and 15 minute load averages from /proc/loadavg
// as "a/b/c", or "?" when it cannot be read.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], "/")
}
