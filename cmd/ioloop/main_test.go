package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run the command itself: the test binary re-runs
// itself with IOLOOP_RUN_MAIN=1 and the command line in IOLOOP_ARGS.
func TestMain(m *testing.M) {
	if os.Getenv("IOLOOP_RUN_MAIN") == "1" {
		os.Args = append([]string{"ioloop"}, strings.Fields(os.Getenv("IOLOOP_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func command(args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IOLOOP_RUN_MAIN=1", "IOLOOP_ARGS="+args)
	return cmd
}

func TestServeEchoAndSignal(t *testing.T) {
	cmd := command("serve --echo 127.0.0.1:0 --loops 2")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "echo listening on 127.0.0.1:") {
		t.Fatalf("first line %q, %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "echo listening on "))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello over the command")
	c.Write(msg)
	got := make([]byte, len(msg))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo %q, %v", got, err)
	}
	// SIGINT: graceful shutdown closes the connection and exits 0.
	cmd.Process.Signal(syscall.SIGINT)
	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("after SIGINT the connection read %d, %v; want EOF", n, err)
	}
	c.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit after SIGINT")
	}
}

func TestBenchEchoJSON(t *testing.T) {
	out, err := command("bench echo --conns 20 --duration 1s --size 100 --pipeline 4 --json").Output()
	if err != nil {
		t.Fatalf("bench echo: %v", err)
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", out, err)
	}
	for _, k := range []string{"workload", "conns", "duration_s", "ops", "ops_per_s", "mb_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "errors"} {
		if _, ok := r[k]; !ok {
			t.Errorf("JSON lacks key %q: %s", k, out)
		}
	}
	if r["workload"] != "echo" || r["conns"] != float64(20) || r["errors"] != float64(0) || r["ops"].(float64) <= 0 {
		t.Fatalf("unexpected result %s", out)
	}
	if p50, p99 := r["p50_us"].(float64), r["p99_us"].(float64); p50 <= 0 || p99 < p50 {
		t.Fatalf("latencies p50 %v p99 %v", p50, p99)
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, args := range []string{"", "nonsense", "serve", "serve --echo 127.0.0.1:99999", "bench echo --conns 0", "bench nosuch"} {
		out, err := command(args).CombinedOutput()
		if err == nil {
			t.Errorf("%q exited 0; output %q", args, out)
		}
		if len(out) == 0 {
			t.Errorf("%q failed without saying why", args)
		}
	}
}

// TestServeHTTPRoutes checks the routes of serve --http, natively and
// through the net/http adapter.
func TestServeHTTPRoutes(t *testing.T) {
	for _, extra := range []string{"", " --adapter"} {
		t.Run("args="+extra, func(t *testing.T) {
			cmd := command("serve --http 127.0.0.1:0 --loops 1" + extra)
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Signal(syscall.SIGTERM)
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "http listening on 127.0.0.1:") {
				t.Fatalf("first line %q, %v", line, err)
			}
			base := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "http listening on "))
			checkRoutes(t, &http.Transport{}, base)
		})
	}
}

// checkRoutes checks the routes of serve --http (and --https) at base
// through tr, and closes tr's idle connections.
func checkRoutes(t *testing.T, tr *http.Transport, base string) {
	t.Helper()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, c := range []struct {
		method, path, body string
		status             int
		want, ctype        string
	}{
		{method: "GET", path: "/plaintext", status: 200, want: "Hello, World!", ctype: "text/plain"},
		{method: "GET", path: "/json", status: 200, want: `{"message":"Hello, World!"}`, ctype: "application/json"},
		{method: "POST", path: "/echo", body: "some body bytes", status: 200, want: "some body bytes"},
		{method: "POST", path: "/nope", body: "ignored", status: 404},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || c.want != "" && string(b) != c.want {
			t.Fatalf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, b, c.status, c.want)
		}
		if c.ctype != "" && resp.Header.Get("Content-Type") != c.ctype {
			t.Fatalf("%s: Content-Type %q", c.path, resp.Header.Get("Content-Type"))
		}
		if c.status == 200 && (resp.Header.Get("Date") == "" || resp.Header.Get("Server") == "") {
			t.Fatalf("%s: missing Date or Server header: %v", c.path, resp.Header)
		}
		if strings.HasPrefix(base, "https://") && (resp.TLS == nil || !resp.TLS.HandshakeComplete) {
			t.Fatalf("%s: not over TLS: %+v", c.path, resp.TLS)
		}
	}
}
