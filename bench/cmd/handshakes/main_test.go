package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop/bench/internal/testcert"
	"github.com/ioloop/ioloop/bench/internal/tlscert"
)

// server serves one response per connection over TLS (at most max) and
// counts full and resumed handshakes; it stops with the test.
func server(t *testing.T, max uint16, resp string) (addr string, cfg *tls.Config, full, resumed *int) {
	t.Helper()
	certPath, keyPath, err := testcert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tlscert.Pool(certPath)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	full, resumed = new(int), new(int)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: max,
		VerifyConnection: func(cs tls.ConnectionState) error {
			mu.Lock()
			defer mu.Unlock()
			if cs.DidResume {
				*resumed++
			} else {
				*full++
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(c, resp)
			}()
		}
	}()
	return ln.Addr().String(), tlscert.ClientConfig(pool), full, resumed
}

const okResp = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!"

func TestOnceFullHandshakes(t *testing.T) {
	addr, cfg, full, resumed := server(t, tls.VersionTLS13, okResp)
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	for i := 0; i < 5; i++ {
		cs, err := once(addr, cfg, req, "Hello, World!")
		if err != nil {
			t.Fatal(err)
		}
		if cs.Version != tls.VersionTLS13 || cs.DidResume {
			t.Fatalf("version %#x, resumed %v", cs.Version, cs.DidResume)
		}
	}
	// The server runs VerifyConnection before the client's Finished is
	// processed; give the last one a moment.
	time.Sleep(50 * time.Millisecond)
	if *full != 5 || *resumed != 0 {
		t.Fatalf("%d full and %d resumed handshakes, want 5 and 0", *full, *resumed)
	}
}

func TestOnceErrors(t *testing.T) {
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, tc := range []struct {
		name  string
		max   uint16
		resp  string
		count func(result) int
	}{
		{"TLS 1.2 only", tls.VersionTLS12, okResp, func(r result) int { return r.TLSErrors }},
		{"404", tls.VersionTLS13, strings.Replace(okResp, "200 OK", "404 Not Found", 1), func(r result) int { return r.StatusErrors }},
		{"body", tls.VersionTLS13, strings.Replace(okResp, "World!", "World?", 1), func(r result) int { return r.StatusErrors }},
		{"cut", tls.VersionTLS13, okResp[:len(okResp)-3], func(r result) int { return r.ReadErrors }},
	} {
		addr, cfg, _, _ := server(t, tc.max, tc.resp)
		_, err := once(addr, cfg, req, "Hello, World!")
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		var w worker
		w.count(err)
		if tc.count(w.res) != 1 {
			t.Errorf("%s: %v counted as %+v", tc.name, err, w.res)
		}
	}
	var w worker
	w.count(fmt.Errorf("dial: %w", errors.New("refused")))
	w.count(errResumed)
	w.count(&net.OpError{Op: "read", Err: timeoutErr{}})
	if w.res.ConnectErrors != 1 || w.res.Resumed != 1 || w.res.Timeouts != 1 {
		t.Errorf("counted %+v", w.res)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestMerge(t *testing.T) {
	ws := []worker{
		{res: result{Requests: 3, ReadErrors: 1}, lat: []int64{30, 10, 20}, cipher: tls.TLS_AES_128_GCM_SHA256},
		{res: result{Requests: 1, TLSErrors: 2, Resumed: 1}, lat: []int64{40}},
		{},
	}
	r := merge(ws, 2*time.Second)
	if r.Requests != 4 || r.ReadErrors != 1 || r.TLSErrors != 2 || r.Resumed != 1 || r.DurationUS != 2e6 || r.Depth != 1 {
		t.Fatalf("merged %+v", r)
	}
	if r.Mean != 25 || r.P50 != 20 || r.P90 != 40 || r.P99 != 40 || r.Max != 40 || r.Cipher != "TLS_AES_128_GCM_SHA256" {
		t.Fatalf("latency %+v", r)
	}
	if got := merge(nil, time.Second); got.Requests != 0 || got.P50 != 0 || got.Cipher != "" {
		t.Fatalf("empty merge %+v", got)
	}
	if pct([]int64{1, 2, 3, 4}, 50) != 2 || pct([]int64{7}, 99) != 7 {
		t.Fatal("pct")
	}
}
