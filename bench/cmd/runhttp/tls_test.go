package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop/bench/internal/testcert"
)

// fakeTLSServer serves GET / over TLS (at most maxVersion) with a
// behaviour chosen by mode, on 127.0.0.1:0; it stops with the test. It
// returns the address and the certificate's path.
func fakeTLSServer(t *testing.T, mode string, maxVersion uint16) (addr, certPath string) {
	t.Helper()
	certPath, keyPath, err := testcert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					var head strings.Builder
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
					}
					date := time.Now().UTC().Format(http1Date)
					resp := "HTTP/1.1 200 OK\r\nServer: fake\r\nDate: " + date + "\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
					switch mode {
					case "body":
						resp = strings.Replace(resp, "World!", "World?", 1)
					case "extra":
						resp += "x"
					}
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
					if strings.Contains(head.String(), "Connection: close") {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), certPath
}

const http1Date = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestCheckTLS(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		mode string
		max  uint16
		want string // substring of the error; "" for none
	}{
		{mode: "good", max: tls.VersionTLS13},
		{mode: "good", max: tls.VersionTLS12, want: "TLS handshake"},
		{mode: "body", max: tls.VersionTLS13, want: "body"},
		{mode: "extra", max: tls.VersionTLS13, want: "response 2"},
	} {
		addr, certPath := fakeTLSServer(t, tc.mode, tc.max)
		cipher, err := checkTLS(addr, certPath)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.mode, err)
		case tc.want == "" && !strings.HasPrefix(cipher, "TLS_"):
			t.Errorf("%s: cipher %q", tc.mode, cipher)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s (max %#x): error %v, want one about %q", tc.mode, tc.max, err, tc.want)
		}
	}
	// A server whose certificate is not the one given fails to verify.
	addr, _ := fakeTLSServer(t, "good", tls.VersionTLS13)
	_, other := fakeTLSServer(t, "good", tls.VersionTLS13)
	if _, err := checkTLS(addr, other); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("another certificate: error %v", err)
	}
}

func TestNginxTLSConf(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, err := testcert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	conf := nginxTLSConf("127.0.0.1:1", dir, 1, certPath, keyPath)
	for _, want := range []string{"worker_processes 1;", "access_log off;", "listen 127.0.0.1:1 ssl;",
		"ssl_protocols TLSv1.3;", "ssl_certificate " + certPath + ";", "ssl_certificate_key " + keyPath + ";",
		"location = / {", "location = /plaintext {", `return 200 "Hello, World!";`, "keepalive_requests 1000000000;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(nginxConf("127.0.0.1:1", dir, 1), "ssl") {
		t.Error("the plaintext config mentions ssl")
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("nginx not installed")
			}
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

func TestTLSMode(t *testing.T) {
	c := config{tls: true, cert: "/x/cert.pem", key: "/x/key.pem", wrk: "wrk", threads: 1, conns: 8, hsConns: 3,
		httpsArgs: "serve --https {addr} --tls-cert {cert} --tls-key {key} --loops {loops}"}
	if c.scheme() != "https" || strings.Join(c.serverNames(), ",") != "fasthttp,ioloop,nbio,net,nginx" {
		t.Fatalf("scheme %q, servers %v", c.scheme(), c.serverNames())
	}
	byName := map[string]server{}
	for _, s := range servers(c, "/b") {
		byName[s.name] = s
	}
	if len(byName) != 5 {
		t.Fatalf("servers %v", byName)
	}
	argv, err := byName["ioloop"].argv("127.0.0.1:9", "", 2)
	if err != nil || strings.Join(argv, " ") != "/b/ioloop serve --https 127.0.0.1:9 --tls-cert /x/cert.pem --tls-key /x/key.pem --loops 2" {
		t.Errorf("ioloop argv %q, %v", argv, err)
	}
	argv, err = byName["net"].argv("127.0.0.1:9", "", 1)
	if err != nil || strings.Join(argv, " ") != "/b/http-net -addr 127.0.0.1:9 -loops 1 -cert /x/cert.pem -key /x/key.pem" {
		t.Errorf("net argv %q, %v", argv, err)
	}
	ws := workloads(c, "/b", "/s.lua")
	if len(ws) != 2 || ws[0].name != keepAlive || ws[1].name != handshake {
		t.Fatalf("workloads %+v", ws)
	}
	if got := strings.Join(ws[0].argv("127.0.0.1:9", 3*time.Second), " "); got != "wrk -t 1 -c 8 -d 3s --timeout 5s -s /s.lua https://127.0.0.1:9/plaintext" {
		t.Errorf("keep-alive argv %q", got)
	}
	if got := strings.Join(ws[0].env, " "); got != "WRK_PIPELINE=1 WRK_PATH=/plaintext" {
		t.Errorf("keep-alive env %q", got)
	}
	if got := strings.Join(ws[1].argv("127.0.0.1:9", 3*time.Second), " "); got != "/b/handshakes -addr 127.0.0.1:9 -ca /x/cert.pem -conns 3 -duration 3s -path /plaintext" {
		t.Errorf("handshake argv %q", got)
	}
	c.tls = false
	if ws := workloads(c, "/b", "/s.lua"); len(ws) != 2 || ws[0].name != keepAlive || ws[1].name != pipelined {
		t.Fatalf("plaintext workloads %+v", ws)
	}
}

func TestTLSReport(t *testing.T) {
	c := config{tls: true, conns: 256, hsConns: 64, rounds: 2, idle: 100, window: time.Second}
	run := func(server, w string, cpu float64) runResult {
		return runResult{Server: server, Workload: w, Depth: 1, Cipher: "TLS_AES_128_GCM_SHA256", CPUPerReqUS: cpu,
			ReqPerS: 800, CPUSeconds: 0.4, WallS: 1, Wrk: wrkResult{P50: 70000, P99: 200000}}
	}
	runs := []runResult{run("nginx", keepAlive, 40), run("fasthttp", keepAlive, 30),
		run("nginx", handshake, 500), run("fasthttp", handshake, 550), run("nginx", handshake, 540)}
	idles := []idleResult{{Server: "nginx", BytesPerConn: 15000, RSSBefore: 40 << 20, RSSAfter: 70 << 20}}
	md := report(c, []server{{name: "nginx"}, {name: "fasthttp"}}, runs, idles, map[string]string{"ioloop": "did not start"})
	for _, want := range []string{
		"## HTTPS benchmark, TLS 1.3",
		"| server | handshakes/s | p50 ms | p99 ms | server CPU | CPU µs/handshake | vs nginx | vs fasthttp | TLS suite | errors | rounds |",
		"| nginx | 800 | 70.0 | 200.0 | 40% | 520.000 | 1.00× | 0.95× | AES_128_GCM_SHA256 | 0 | 2 |",
		"| fasthttp | 800 | 70.0 | 200.0 | 40% | 30.000 | 0.75× | 1.00× | AES_128_GCM_SHA256 | 0 | 1 |",
		"### Idle TLS memory, 100 connections",
		"- ioloop: did not start",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "pipelined") || strings.Contains(md, "vs C") {
		t.Errorf("TLS report has plaintext parts:\n%s", md)
	}
}
