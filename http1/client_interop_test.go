package http1

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// startNginx runs nginx (Debian package nginx-light or nginx) on a free
// 127.0.0.1 port with a generated configuration, and returns its base URL.
// The test is skipped when nginx is not installed.
func startNginx(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nginx"); err2 != nil {
			t.Skip("nginx is not installed (Debian package nginx-light); skipping the nginx interop test")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("nginx-body-0123456789abcdef\n"), 40000)
	if err := os.WriteFile(filepath.Join(www, "big.txt"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	keepalive_requests 100000;
	server {
		listen %[2]s;
		root %[1]s/www;
		location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
		location = /moved { return 301 /plaintext; }
		location = /empty { return 204; }
	}
}
`, dir, addr)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", cf, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not start on %s: %v\n%s\n%s", addr, err, out.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr
}

// TestClientNginx runs the client against nginx: keep-alive, a large
// static file, HEAD, 204, a redirect left alone, 404, and pipelining.
func TestClientNginx(t *testing.T) {
	base := startNginx(t)
	checkLeaks(t)
	cl := newClient(t, &Client{MaxConnsPerHost: 2})
	for i := range 10 {
		resp := do(t, cl, &ClientRequest{URL: base + "/plaintext"})
		if resp.StatusCode != 200 || string(resp.Body()) != "Hello, World!" || len(resp.Header("Server")) == 0 {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, resp.Body())
		}
	}
	big := bytes.Repeat([]byte("nginx-body-0123456789abcdef\n"), 40000)
	resp := do(t, cl, &ClientRequest{URL: base + "/big.txt"})
	if !bytes.Equal(resp.Body(), big) {
		t.Fatalf("big.txt: %d bytes, want %d", len(resp.Body()), len(big))
	}
	resp = do(t, cl, &ClientRequest{Method: "HEAD", URL: base + "/big.txt"})
	if resp.StatusCode != 200 || len(resp.Body()) != 0 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(resp.Body()), resp.ContentLength)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{{path: "/empty", status: 204}, {path: "/moved", status: 301}, {path: "/missing", status: 404}} {
		resp := do(t, cl, &ClientRequest{URL: base + tc.path})
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d connections after sequential requests, want 1", n)
	}

	pl := newClient(t, &Client{MaxConnsPerHost: 1, Pipeline: 8})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		path := "/plaintext"
		if i%4 == 3 {
			path = "/missing" + strconv.Itoa(i)
		}
		pl.DoFunc(&ClientRequest{URL: base + path}, func(r *Response, err error) {
			defer wg.Done()
			switch {
			case err != nil:
				t.Errorf("pipelined %s: %v", path, err)
			case path == "/plaintext" && (r.StatusCode != 200 || string(r.Body()) != "Hello, World!"):
				t.Errorf("pipelined %s: %d %q", path, r.StatusCode, r.Body())
			case path != "/plaintext" && r.StatusCode != 404:
				t.Errorf("pipelined %s: %d", path, r.StatusCode)
			}
		})
	}
	wg.Wait()
	_, err := pl.DoContext(context.Background(), &ClientRequest{URL: base + "/plaintext"})
	if err != nil {
		t.Fatal(err)
	}
}
