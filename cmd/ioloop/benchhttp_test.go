package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBenchHTTPEmbedded(t *testing.T) {
	r, err := runHTTP(httpConfig{conns: 4, pipeline: 2, duration: 300 * time.Millisecond, loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Workload != "http" || r.Conns != 4 || r.Pipeline != 2 || r.Size != len("Hello, World!") {
		t.Fatalf("result %+v", r)
	}
	if r.Ops == 0 || r.Errors != 0 || r.P50us <= 0 || r.P99us < r.P50us {
		t.Fatalf("ops %d errors %d p50 %v p99 %v", r.Ops, r.Errors, r.P50us, r.P99us)
	}
}

func TestBenchHTTPTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("0123456789"))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	r, err := runHTTP(httpConfig{target: "http://" + ln.Addr().String() + "/x", conns: 3, pipeline: 1, duration: 300 * time.Millisecond, loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ops == 0 || r.Errors != 0 || r.Size != 10 || !strings.HasSuffix(r.Target, "/x") {
		t.Fatalf("result %+v", r)
	}
	if _, err := runHTTP(httpConfig{target: "ftp://example/", conns: 1, pipeline: 1, duration: time.Second}); err == nil || !strings.Contains(err.Error(), "https://") {
		t.Fatalf("ftp target: %v", err)
	}
}
