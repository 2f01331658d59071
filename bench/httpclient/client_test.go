// Package httpclient compares ioloop's HTTP/1.1 client (http1.Client) with
// fasthttp's HostClient against one server (ioloop's http1 server on one
// loop, 127.0.0.1, GET /plaintext), with the same number of connections and
// requests in flight. Run the set interleaved, a round at a time:
//
//	for i in 1 2 3 4 5; do go test -run '^$' -bench . -benchmem ./httpclient; done
//
// Sequential keeps one request in flight (round-trip latency):
//
//   - ioloop-DoContext: a goroutine sends a request and blocks until its
//     response (the pooled, allocation-free blocking form);
//   - ioloop-DoAwait: the same with the future form, Do(req).Await (the
//     future is a new object per request: it allocates);
//   - ioloop-DoFunc-chained: each response's callback, on the loop, sends
//     the next request (no goroutine involved);
//   - fasthttp: a goroutine calling HostClient.Do.
//
// Concurrent keeps 64 requests in flight over up to 64 connections:
// callbacks chained on the loop, or 64 goroutines calling DoContext or
// Do(req).Await, against 64 goroutines calling HostClient.Do.
//
// The client's Group runs its loop unlocked (the default; see Options.LockOSThread), as the
// http1 documentation advises when goroutines wait for the loop: a locked
// loop blocked in the poller keeps the scheduler slot the woken goroutine
// was queued on.
package httpclient

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/valyala/fasthttp"
)

const (
	inflight = 64
	body     = "Hello, World!"
)

func server(b *testing.B) string {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		b.Fatal(err)
	}
	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		_ = w.AddHeader("Content-Type", "text/plain")
		_, _ = w.WriteString(body)
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

func BenchmarkSequential(b *testing.B) {
	b.Run("ioloop-DoContext", func(b *testing.B) {
		cl := ioloopClient(b)
		req := &http1.ClientRequest{URL: "http://" + server(b) + "/plaintext"}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := cl.DoContext(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if string(resp.Body()) != body {
				b.Fatalf("body %q", resp.Body())
			}
			resp.Release()
		}
	})
	b.Run("ioloop-DoAwait", func(b *testing.B) {
		cl := ioloopClient(b)
		req := &http1.ClientRequest{URL: "http://" + server(b) + "/plaintext"}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := cl.Do(req).Await(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if string(resp.Body()) != body {
				b.Fatalf("body %q", resp.Body())
			}
			resp.Release()
		}
	})
	b.Run("ioloop-DoFunc-chained", func(b *testing.B) {
		cl := ioloopClient(b)
		req := &http1.ClientRequest{URL: "http://" + server(b) + "/plaintext"}
		done := make(chan error, 1)
		var failed atomic.Pointer[error]
		left := 0 // used by the callbacks only, which run on the loop
		var fn func(*http1.Response, error)
		fn = func(r *http1.Response, err error) {
			if err != nil || string(r.Body()) != body {
				fail(&failed, err)
				done <- nil
				return
			}
			if left--; left > 0 {
				cl.DoFunc(req, fn)
				return
			}
			done <- nil
		}
		run := func(n int) {
			left = n
			cl.DoFunc(req, fn)
			<-done
		}
		run(100) // open the connection
		b.ReportAllocs()
		b.ResetTimer()
		run(b.N)
		b.StopTimer()
		if e := failed.Load(); e != nil {
			b.Fatal(*e)
		}
	})
	b.Run("fasthttp", func(b *testing.B) {
		addr := server(b)
		hc := &fasthttp.HostClient{Addr: addr, MaxConns: inflight}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addr + "/plaintext")
		b.ReportAllocs()
		for b.Loop() {
			if err := hc.Do(req, resp); err != nil {
				b.Fatal(err)
			}
			if string(resp.Body()) != body {
				b.Fatalf("body %q", resp.Body())
			}
		}
	})
}

func BenchmarkConcurrent(b *testing.B) {
	b.Run("ioloop-DoFunc-chained", func(b *testing.B) {
		cl := ioloopClient(b)
		url := "http://" + server(b) + "/plaintext"
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
				if err != nil || string(r.Body()) != body {
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
	})
	b.Run("ioloop-DoContext-goroutines", func(b *testing.B) {
		ioloopGoroutines(b, func(cl *http1.Client, req *http1.ClientRequest) (*http1.Response, error) {
			return cl.DoContext(context.Background(), req)
		})
	})
	b.Run("ioloop-DoAwait-goroutines", func(b *testing.B) {
		ioloopGoroutines(b, func(cl *http1.Client, req *http1.ClientRequest) (*http1.Response, error) {
			return cl.Do(req).Await(context.Background())
		})
	})
	b.Run("fasthttp-goroutines", func(b *testing.B) {
		addr := server(b)
		hc := &fasthttp.HostClient{Addr: addr, MaxConns: inflight}
		url := "http://" + addr + "/plaintext"
		parallel(b, func() func() error {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(url)
			return func() error {
				if err := hc.Do(req, resp); err != nil {
					return err
				}
				if string(resp.Body()) != body {
					return errBody
				}
				return nil
			}
		})
	})
}

// ioloopGoroutines runs parallel with do as each goroutine's call, against
// a new server, checking every body.
func ioloopGoroutines(b *testing.B, do func(*http1.Client, *http1.ClientRequest) (*http1.Response, error)) {
	cl := ioloopClient(b)
	url := "http://" + server(b) + "/plaintext"
	parallel(b, func() func() error {
		req := &http1.ClientRequest{URL: url}
		return func() error {
			resp, err := do(cl, req)
			if err != nil {
				return err
			}
			ok := string(resp.Body()) == body
			resp.Release()
			if !ok {
				return errBody
			}
			return nil
		}
	})
}

// parallel runs b.N calls on inflight goroutines, each with the call that
// newCall returns, and reports req/s.
func parallel(b *testing.B, newCall func() func() error) {
	var failed atomic.Pointer[error]
	b.SetParallelism(max(inflight/runtime.GOMAXPROCS(0), 1)) // inflight goroutines
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		call := newCall()
		for pb.Next() {
			if err := call(); err != nil {
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
