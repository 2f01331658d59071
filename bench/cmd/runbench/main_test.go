package main

import (
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStatFields(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := []byte("1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 3 0 50 1000 200")
	f := statFields(line)
	if f[0] != "S" || f[11] != "250" || f[12] != "37" {
		t.Fatalf("state %q utime %q stime %q; want S 250 37", f[0], f[11], f[12])
	}
	if statFields([]byte("no paren")) != nil {
		t.Fatal("a line without ')' must give no fields")
	}
}

func TestProcReadersOnSelf(t *testing.T) {
	pid := os.Getpid()
	t0, err := cpuTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Burn ~100 ms of CPU so the tick count must move (CLK_TCK is 100).
	for end := time.Now().Add(150 * time.Millisecond); time.Now().Before(end); {
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	if t1 <= t0 {
		t.Fatalf("cpu ticks did not grow: %v -> %v", t0, t1)
	}
	r, err := rss(pid)
	if err != nil || r < 1<<20 {
		t.Fatalf("rss = %d, %v; want at least 1 MiB", r, err)
	}
	if !alive(pid) {
		t.Fatal("this process is not alive")
	}
	if alive(1 << 30) {
		t.Fatal("a pid that cannot exist is alive")
	}
	if n := fdCount(pid); n < 3 {
		t.Fatalf("fdCount = %d, want >= 3", n)
	}
}

func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// loop echoes with a plain read/write loop, altering each chunk with mod.
func loop(mod func([]byte) []byte) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 16<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(mod(buf[:n])); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
}

func checkLeaks(t *testing.T) {
	t.Helper()
	pid := os.Getpid()
	fds, gs := fdCount(pid), runtime.NumGoroutine()
	t.Cleanup(func() {
		for i := 0; i < 200 && (fdCount(pid) > fds || runtime.NumGoroutine() > gs); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if n := fdCount(pid); n > fds {
			t.Errorf("fd leak: %d before, %d after", fds, n)
		}
		if n := runtime.NumGoroutine(); n > gs {
			t.Errorf("goroutine leak: %d before, %d after", gs, n)
		}
	})
}

func TestCheckEcho(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(net.Conn)
		ok     bool
	}{
		{name: "echo", handle: loop(func(b []byte) []byte { return b }), ok: true},
		{name: "flip-a-bit", handle: loop(func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b })},
		{name: "extra-byte", handle: loop(func(b []byte) []byte { return append(b, 'x') })},
		{name: "first-read-only", handle: func(c net.Conn) {
			buf := make([]byte, 16<<10)
			n, _ := c.Read(buf)
			_, _ = c.Write(buf[:n])
			_, _ = c.Read(make([]byte, 1<<20))
		}},
		{name: "closes", handle: func(net.Conn) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			err := checkEcho(listen(t, tc.handle))
			if tc.ok && err != nil {
				t.Fatalf("correct server failed the check: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("faulty server passed the check")
			}
		})
	}
}

func TestReportRanksByCPUPerRoundTrip(t *testing.T) {
	c := config{conns: 10, size: 64, pipelines: []int{1}, rounds: 3, idle: 100, window: time.Second}
	chosen := []server{{name: "c"}, {name: "gnet", goPeer: true}, {name: "net", goPeer: true}, {name: "ioloop"}}
	var runs []runResult
	cost := map[string][]float64{"c": {1, 1.2, 0.8}, "gnet": {2, 2, 9}, "net": {4, 3, 5}, "ioloop": {1.5, 1.5, 1.5}}
	for name, cs := range cost {
		for i, v := range cs {
			runs = append(runs, runResult{Server: name, Round: i + 1, Pipeline: 1, CPUPerOpUS: v,
				CPUSeconds: 0.5, WallS: 1, CPUMethod: "window", LG: lgResult{OpsPerS: 1000}})
		}
	}
	idles := []idleResult{{Server: "c", BytesPerCon: 10, RSSBefore: 1 << 20, RSSAfter: 2 << 20}}
	md := report(c, []string{"/x/bin/loadgen"}, chosen, runs, idles, map[string]string{"evio": "died under load"})
	var order []string
	for _, line := range strings.Split(md, "\n") {
		if f := strings.Split(line, " | "); len(f) > 5 && strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| server") {
			order = append(order, strings.TrimPrefix(f[0], "| ")+" "+f[5]+" "+f[6]+" "+f[7])
		}
	}
	want := []string{"c 1.000 1.00× 0.50×", "ioloop 1.500 1.50× 0.75×", "gnet 2.000 2.00× 1.00×", "net 4.000 4.00× 2.00×"}
	if strings.Join(order[:4], "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s\nreport:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"), md)
	}
	if !strings.Contains(md, "- evio: died under load") || !strings.Contains(md, "vs best Go peer (gnet)") {
		t.Fatalf("report lacks the left-out server or the best Go peer:\n%s", md)
	}
}

// FuzzStatFields feeds arbitrary /proc/PID/stat lines: the parser must not
// panic, and the fields it returns must come after the last ')'.
func FuzzStatFields(f *testing.F) {
	f.Add([]byte("1234 (echo-c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 50 1000 200"))
	f.Add([]byte("1 ((x) y)) R 0 0 0 0 0 0 0 0 0 0 1 2"))
	f.Add([]byte(")"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		fields := statFields(b)
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			if fields != nil {
				t.Fatalf("fields %q from a line without ')'", fields)
			}
			return
		}
		if want := strings.Fields(string(b[i+1:])); strings.Join(fields, " ") != strings.Join(want, " ") {
			t.Fatalf("fields %q, want %q", fields, want)
		}
	})
}
