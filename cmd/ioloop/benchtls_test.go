package main

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop/internal/selfsigned"
)

// TestBenchTLSEmbedded runs the https and wss rows of `ioloop bench`: an
// embedded server with an ephemeral certificate that the client trusts.
// Every response and echo is checked by the workloads, so some operations
// and no error mean the exchanges were right.
func TestBenchTLSEmbedded(t *testing.T) {
	h, err := runHTTP(httpConfig{conns: 4, pipeline: 2, duration: 300 * time.Millisecond, loops: 1, secure: true})
	if err != nil {
		t.Fatal(err)
	}
	if h.Workload != "https" || !strings.HasPrefix(h.Target, "https://127.0.0.1:") || h.Size != len("Hello, World!") || h.Ops == 0 || h.Errors != 0 {
		t.Fatalf("https: %+v", h)
	}
	w, err := runWS(wsConfig{conns: 20, size: 64, duration: 300 * time.Millisecond, loops: 1, secure: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.Workload != "wss" || !strings.HasPrefix(w.Target, "wss://127.0.0.1:") || w.Ops == 0 || w.Errors != 0 {
		t.Fatalf("wss: %+v", w)
	}
}

// TestBenchHTTPSTarget runs bench http against a net/http HTTPS server:
// with its certificate in --cacert, with --insecure, and without either
// (the system's roots refuse a self-signed certificate).
func TestBenchHTTPSTarget(t *testing.T) {
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				http.Error(w, "not TLS", 500)
				return
			}
			w.Write([]byte("0123456789"))
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert.TLS}},
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	target := "https://" + ln.Addr().String() + "/x"
	for _, c := range []httpConfig{{caFile: caFile}, {insecure: true}} {
		c.target, c.conns, c.pipeline, c.duration, c.loops = target, 3, 1, 300*time.Millisecond, 1
		r, err := runHTTP(c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Workload != "https" || r.Ops == 0 || r.Errors != 0 || r.Size != 10 || r.Target != target {
			t.Fatalf("cacert %q insecure %v: %+v", c.caFile, c.insecure, r)
		}
	}
	_, err = runHTTP(httpConfig{target: target, conns: 1, pipeline: 1, duration: time.Second, loops: 1})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unverifiable certificate: %v", err)
	}
}

// TestBenchAgainstServeHTTPS drives `ioloop serve --https` with `ioloop
// bench http` (verifying the certificate given to serve in files) and
// `ioloop bench ws` (wss, --insecure), through their command lines.
func TestBenchAgainstServeHTTPS(t *testing.T) {
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := startServe(t, "serve --loops 1 --https 127.0.0.1:0 --tls-cert "+certFile+" --tls-key "+keyFile)
	for _, c := range []struct{ args, workload string }{
		{"bench http --target https://" + addr + "/json --cacert " + certFile + " --conns 4 --pipeline 2", "https"},
		{"bench ws --target wss://" + addr + "/ws --insecure --conns 10 --size 100", "wss"},
	} {
		out, err := command(c.args + " --duration 300ms --loops 1 --json").Output()
		if err != nil {
			t.Fatalf("%s: %v", c.args, err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: output %q: %v", c.args, out, err)
		}
		if r.Workload != c.workload || r.Ops == 0 || r.Errors != 0 {
			t.Fatalf("%s: %+v", c.args, r)
		}
	}
}

// TestBenchTLSBadFlags: --insecure and --cacert need a TLS target, exclude
// each other, and a --cacert file that holds no certificate is reported.
func TestBenchTLSBadFlags(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("no PEM here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ args, want string }{
		{"bench http --insecure", "https:// --target"},
		{"bench http --target http://127.0.0.1:1/ --cacert " + junk, "https:// --target"},
		{"bench ws --insecure", "wss:// --target"},
		{"bench http --target https://127.0.0.1:1/ --insecure --cacert " + junk, "contradict"},
		{"bench http --target https://127.0.0.1:1/ --cacert " + junk, "no PEM certificate"},
		{"bench ws --target wss://127.0.0.1:1/ws --cacert " + filepath.Join(filepath.Dir(junk), "missing.pem"), "missing.pem"},
		{"bench ws --target ftp://127.0.0.1:1/ws", "wss://"},
	} {
		out, err := command(c.args + " --duration 1s").CombinedOutput()
		if err == nil {
			t.Errorf("%q exited 0; output %q", c.args, out)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%q: output %q lacks %q", c.args, out, c.want)
		}
	}
}

// TestBenchAllWorkloads runs `ioloop bench` (the main job) briefly: one
// result per workload in the table's order, https and wss among them, with
// no error.
func TestBenchAllWorkloads(t *testing.T) {
	out, err := command("bench --duration 500ms --loops 1 --json").Output()
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var got []string
	for dec.More() {
		var r result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if r.Ops == 0 || r.Errors != 0 {
			t.Errorf("%s: %d ops, %d errors", r.Workload, r.Ops, r.Errors)
		}
		got = append(got, r.Workload)
	}
	if want := "echo echo echo http https ws wss"; strings.Join(got, " ") != want {
		t.Fatalf("workloads %q, want %q", got, want)
	}
}
