// Package httpclient compares ioloop's HTTP/1.1 client (http1.Client) with
// fasthttp's HostClient against one server (ioloop's http1 server on
// 127.0.0.1, GET /plaintext), with the same number of connections and
// requests in flight:
//
//	go test -run '^$' -bench . -benchmem ./httpclient
//
// Sequential benchmarks keep one request in flight (round-trip cost);
// Concurrent ones keep 64 in flight over up to 64 connections. The ioloop
// client sends each next request from the previous one's callback on the
// loop; fasthttp runs 64 goroutines.
package httpclient

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/valyala/fasthttp"
)

const inflight = 64

func server(b *testing.B) string {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		b.Fatal(err)
	}
	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		_ = w.AddHeader("Content-Type", "text/plain")
		_, _ = w.WriteString("Hello, World!")
	})}
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = s.Close()
		g.Close()
	})
	return ln.Addr().String()
}

func ioloopClient(b *testing.B) *http1.Client {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		b.Fatal(err)
	}
	cl := &http1.Client{Group: g, MaxConnsPerHost: inflight}
	b.Cleanup(func() {
		_ = cl.Close()
		g.Close()
	})
	return cl
}

func BenchmarkIoloopSequential(b *testing.B) {
	addr := server(b)
	cl := ioloopClient(b)
	req := &http1.ClientRequest{URL: "http://" + addr + "/plaintext"}
	done := make(chan error, 1)
	var bad atomic.Int64
	fn := func(r *http1.Response, err error) {
		if err == nil && len(r.Body()) != 13 {
			bad.Add(1)
		}
		done <- err
	}
	b.ReportAllocs()
	for b.Loop() {
		cl.DoFunc(req, fn)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	if bad.Load() > 0 {
		b.Fatalf("%d wrong bodies", bad.Load())
	}
}

func BenchmarkFasthttpSequential(b *testing.B) {
	addr := server(b)
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: inflight}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + addr + "/plaintext")
	b.ReportAllocs()
	for b.Loop() {
		if err := hc.Do(req, resp); err != nil {
			b.Fatal(err)
		}
		if len(resp.Body()) != 13 {
			b.Fatalf("body %q", resp.Body())
		}
	}
}

func BenchmarkIoloopConcurrent(b *testing.B) {
	addr := server(b)
	cl := ioloopClient(b)
	url := "http://" + addr + "/plaintext"
	var (
		wg     sync.WaitGroup
		left   atomic.Int64
		failed atomic.Pointer[error]
	)
	reqs := make([]http1.ClientRequest, inflight)
	fns := make([]func(*http1.Response, error), inflight)
	for i := range reqs {
		reqs[i].URL = url
		fns[i] = func(r *http1.Response, err error) {
			if err != nil || len(r.Body()) != 13 {
				fail(&failed, err)
			}
			if err == nil && left.Add(-1) >= 0 {
				cl.DoFunc(&reqs[i], fns[i])
				return
			}
			wg.Done()
		}
	}
	run := func(n int) {
		left.Store(int64(n - inflight))
		wg.Add(inflight)
		for i := range reqs {
			cl.DoFunc(&reqs[i], fns[i])
		}
		wg.Wait()
	}
	run(inflight * 8) // open the connections
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	run(max(b.N, inflight))
	b.ReportMetric(float64(max(b.N, inflight))/time.Since(start).Seconds(), "req/s")
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
}

func BenchmarkFasthttpConcurrent(b *testing.B) {
	addr := server(b)
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: inflight}
	url := "http://" + addr + "/plaintext"
	var failed atomic.Pointer[error]
	b.SetParallelism(max(inflight/runtime.GOMAXPROCS(0), 1)) // inflight goroutines
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(url)
		for pb.Next() {
			if err := hc.Do(req, resp); err != nil || len(resp.Body()) != 13 {
				fail(&failed, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
}

type bodyError struct{}

func (bodyError) Error() string { return "httpclient: wrong response body" }

var errBody = bodyError{}

// fail records the first failure (a wrong body when err is nil). It is
// apart so that the error escapes to the heap only on failure.
func fail(first *atomic.Pointer[error], err error) {
	if err == nil {
		err = errBody
	}
	first.CompareAndSwap(nil, &err)
}
