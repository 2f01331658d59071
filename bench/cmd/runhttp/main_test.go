package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
	"github.com/ioloop/ioloop/bench/internal/procstat"
)

func checkLeaks(t *testing.T) {
	t.Helper()
	pid := os.Getpid()
	fds, gs := procstat.FDCount(pid), runtime.NumGoroutine()
	t.Cleanup(func() {
		for i := 0; i < 300 && (procstat.FDCount(pid) > fds || runtime.NumGoroutine() > gs); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if n := procstat.FDCount(pid); n > fds {
			t.Errorf("fd leak: %d before, %d after", fds, n)
		}
		if n := runtime.NumGoroutine(); n > gs {
			t.Errorf("goroutine leak: %d before, %d after", gs, n)
		}
	})
}

const goodHead = "HTTP/1.1 200 OK\r\nServer: t\r\nDate: Fri, 02 Jan 2026 03:04:05 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"

func TestCheckResponse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC)
	replace := func(old, new string) string { return strings.Replace(goodHead, old, new, 1) }
	for _, tc := range []struct {
		name, head, body string
		want             string // substring of the error; "" for none
	}{
		{name: "good", head: goodHead, body: body},
		{name: "charset is fine", head: replace("text/plain", "text/plain; charset=utf-8"), body: body},
		{name: "status", head: replace("200 OK", "404 Not Found"), body: body, want: "status line"},
		{name: "HTTP/1.0", head: replace("HTTP/1.1", "HTTP/1.0"), body: body, want: "status line"},
		{name: "body", head: goodHead, body: "Hello, World?", want: "body"},
		{name: "no length", head: replace("Content-Length: 13\r\n", ""), body: body, want: "Content-Length"},
		{name: "two lengths", head: replace("Content-Length: 13\r\n", "Content-Length: 13\r\nContent-Length: 13\r\n"), body: body, want: "Content-Length"},
		{name: "chunked", head: replace("Content-Length: 13\r\n", "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n"), body: body, want: "Transfer-Encoding"},
		{name: "type", head: replace("text/plain", "text/html"), body: body, want: "Content-Type"},
		{name: "no server", head: replace("Server: t\r\n", ""), body: body, want: "Server"},
		{name: "no date", head: replace("Date: Fri, 02 Jan 2026 03:04:05 GMT\r\n", ""), body: body, want: "Date"},
		{name: "stale date", head: replace("03:04:05", "02:04:05"), body: body, want: "away from now"},
		{name: "bad date", head: replace("Fri, 02 Jan 2026 03:04:05 GMT", "yesterday"), body: body, want: "does not parse"},
		{name: "close", head: replace("Server: t\r\n", "Server: t\r\nConnection: close\r\n"), body: body, want: "Connection: close"},
		{name: "folded", head: replace("Server: t\r\n", "Server: t\r\n more\r\n"), body: body, want: "malformed"},
	} {
		err := checkResponse([]byte(tc.head), []byte(tc.body), now)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.want)
		}
	}
}

// fakeServer serves plaintext on 127.0.0.1:0 with a behaviour chosen by
// mode and returns its address; it stops with the test.
func fakeServer(t *testing.T, mode string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serveFake(c, mode)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serveFake answers complete request heads: "good" answers each once;
// "first-only" answers only the first head of each read (not pipelining
// aware); "close" answers one request and closes; "extra" adds a stray
// byte after each batch.
func serveFake(c net.Conn, mode string) {
	var carry []byte
	buf := make([]byte, 64<<10)
	for {
		k, err := c.Read(buf)
		if err != nil {
			return
		}
		in := append(carry, buf[:k]...)
		n, used := plaintext.Scan(in)
		carry = append([]byte(nil), in[used:]...)
		if n == 0 {
			continue
		}
		if mode == "first-only" {
			n = 1
		}
		resp := plaintext.Build("fake", time.Now())
		out := bytes.Repeat(resp, n)
		if mode == "extra" {
			out = append(out, 'x')
		}
		if _, err := c.Write(out); err != nil || mode == "close" {
			return
		}
	}
}

func TestCheckServer(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	checkLeaks(t)
	for _, tc := range []struct {
		mode, want string
	}{
		{mode: "good"},
		{mode: "first-only", want: "pipelined"},
		{mode: "close", want: "one connection"},
		{mode: "extra", want: "curl"},
	} {
		err := checkServer(fakeServer(t, tc.mode), 16)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.mode, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one about %q", tc.mode, err, tc.want)
		}
	}
}

func TestCheckPipelinedCatchesStrayBytes(t *testing.T) {
	checkLeaks(t)
	err := checkPipelined(fakeServer(t, "extra"), 4)
	if err == nil {
		t.Fatal("a server that sends a stray byte passed")
	}
	if err := checkPipelined(fakeServer(t, "good"), 4); err != nil {
		t.Fatal(err)
	}
}

func TestParseWrk(t *testing.T) {
	out := []byte("Running 1s test @ http://x/plaintext\n  3 requests in 1s\n" +
		`{"requests":1200,"duration_us":1000000,"bytes":5,"connect_errors":1,"read_errors":2,"write_errors":3,"status_errors":4,"timeouts":5,"depth":16,"lat_mean_us":10.5,"lat_p50_us":9,"lat_p90_us":20,"lat_p99_us":30,"lat_max_us":40}` + "\n")
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 1200 || r.DurationUS != 1e6 || r.Depth != 16 || r.P50 != 9 || r.P99 != 30 || r.errors() != 15 {
		t.Fatalf("parsed %+v", r)
	}
	if _, err := parseWrk([]byte("Requests/sec: 5\n")); err == nil {
		t.Fatal("output without the JSON line parsed")
	}
	if _, err := parseWrk([]byte(`{"requests":1,"duration_us":0}`)); err == nil {
		t.Fatal("a zero duration parsed")
	}
}

func TestExpand(t *testing.T) {
	got := expand("serve --http {addr} --loops {loops} --x={addr}", "127.0.0.1:9", 4)
	want := []string{"serve", "--http", "127.0.0.1:9", "--loops", "4", "--x=127.0.0.1:9"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("expand = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	good := config{window: 5 * time.Second, warmup: 2 * time.Second, rewarm: time.Second,
		rounds: 3, loops: 1, conns: 256, depth: 16, threads: 1, idle: 10000, hsConns: 64}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*config){
		"fractional window": func(c *config) { c.window = 1500 * time.Millisecond },
		"zero window":       func(c *config) { c.window = 0 },
		"depth 1":           func(c *config) { c.depth = 1 },
		"no rounds":         func(c *config) { c.rounds = 0 },
		"fewer conns":       func(c *config) { c.threads = 2; c.conns = 1 },
		"no handshakes":     func(c *config) { c.hsConns = 0 },
	} {
		c := good
		mod(&c)
		if c.validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReport(t *testing.T) {
	c := config{conns: 256, depth: 16, rounds: 2, idle: 100, window: time.Second}
	run := func(server string, depth int, cpu float64) runResult {
		w := keepAlive
		if depth > 1 {
			w = pipelined
		}
		return runResult{Server: server, Workload: w, Depth: depth, CPUPerReqUS: cpu, ReqPerS: 1000, CPUSeconds: 0.5, WallS: 1,
			Wrk: wrkResult{P50: 1500, P99: 0}}
	}
	runs := []runResult{
		run("nginx", 1, 10), run("nginx", 1, 12), run("fasthttp", 1, 20), run("fasthttp", 1, 22),
		run("c", 1, 5), run("c", 1, 5), run("c", 16, 1), run("fasthttp", 16, 2),
	}
	sums := summarize(runs, keepAlive)
	if len(sums) != 3 || sums[0].name != "c" || sums[1].name != "nginx" || sums[1].cpuPerReq != 11 || sums[1].rounds != 2 {
		t.Fatalf("summaries %+v", sums)
	}
	chosen := []server{{name: "c"}, {name: "nginx"}, {name: "fasthttp"}}
	idles := []idleResult{{Server: "nginx", BytesPerConn: 500, RSSBefore: 1 << 20, RSSAfter: 2 << 20}, {Server: "c", BytesPerConn: 250}}
	md := report(c, chosen, runs, idles, map[string]string{"ioloop": "did not start: no --http"})
	for _, want := range []string{
		"| c | 1000 | 1.50 | – | 50% | 5.000 | 0.45× | 0.24× | 1.00× | 0 | 2 |",
		"| nginx | 1000 | 1.50 | – | 50% | 11.000 | 1.00× | 0.52× | 2.20× | 0 | 2 |",
		"| c | 1000 | 1.50 | – | 50% | 1.000 | – | 0.50× | 1.00× | 0 | 1 |",
		"| c | 0.0 | 0.0 | 250 | 0.50× | 1 |",
		"- ioloop: did not start: no --http",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "| c | 0.0") > strings.Index(md, "| nginx | 1.0") {
		t.Error("idle rows are not ranked by bytes per connection")
	}
}

func TestNginxConf(t *testing.T) {
	dir := t.TempDir()
	conf := nginxConf("127.0.0.1:1", dir, 1)
	for _, want := range []string{"worker_processes 1;", "daemon off;", "access_log off;", "listen 127.0.0.1:1;",
		`return 200 "Hello, World!";`, "default_type text/plain;", "pid " + dir + "/nginx.pid;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx not installed")
		}
		bin = "/usr/sbin/nginx"
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// TestRunWrk runs wrk for one second against an in-process server and
// checks what the harness takes from it: the JSON totals and a CPU window
// of about wrk's duration, sampled on this process.
func TestRunWrk(t *testing.T) {
	for _, tool := range []string{"wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	checkLeaks(t)
	addr := fakeServer(t, "good")
	script, err := filepath.Abs("../../http/pipeline.lua")
	if err != nil {
		t.Fatal(err)
	}
	c := config{wrk: "wrk", threads: 1, conns: 8, clientCPU: 1}
	p := &proc{pid: os.Getpid()}
	for _, depth := range []int{1, 4} {
		res, cpu, err := runWrk(c, script, p, addr, depth, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests < 100 || res.errors() != 0 || res.Depth != depth {
			t.Fatalf("depth %d: %+v", depth, res)
		}
		if depth > 1 && int(res.Requests)%depth != 0 {
			// Every batch is answered whole by the fake server, and wrk
			// counts each response: a multiple of depth unless a batch
			// was cut by the end of the window.
			t.Logf("depth %d: %v requests (a batch cut by the window's end)", depth, res.Requests)
		}
		got, want := cpu.wall, time.Duration(res.DurationUS)*time.Microsecond
		if got < want-200*time.Millisecond || got > want+500*time.Millisecond {
			t.Fatalf("depth %d: CPU window %v, wrk's duration %v", depth, got, want)
		}
		if cpu.ticks < 0 {
			t.Fatalf("depth %d: negative CPU ticks %v", depth, cpu.ticks)
		}
	}
}
