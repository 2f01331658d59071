package http1

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ioloop/ioloop"
)

// plaintextServer starts the ioloop server answering "Hello, World!" on
// one loop and returns its address.
func plaintextServer(t testing.TB) string {
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		_ = w.AddHeader("Content-Type", "text/plain")
		_, _ = w.WriteString("Hello, World!")
	})
	return serve(t, &Server{Handler: h}, ioloop.Options{Loops: 1})
}

// syncCaller sends one request at a time with DoFunc and waits for it on
// a channel: the allocation-free round trip.
type syncCaller struct {
	cl   *Client
	req  ClientRequest
	done chan struct{}
	fn   func(*Response, error)
	err  error
	n    int
}

func newSyncCaller(cl *Client, url string) *syncCaller {
	s := &syncCaller{cl: cl, req: ClientRequest{URL: url}, done: make(chan struct{}, 1)}
	s.fn = func(r *Response, err error) {
		if err != nil {
			s.err = err
		} else {
			s.n += len(r.Body())
		}
		s.done <- struct{}{}
	}
	return s
}

func (s *syncCaller) call() {
	s.cl.DoFunc(&s.req, s.fn)
	<-s.done
}

// TestClientDoFuncNoAlloc proves the steady-state DoFunc round trip (client
// and ioloop server together) allocates nothing.
func TestClientDoFuncNoAlloc(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	checkLeaks(t)
	addr := plaintextServer(t)
	cl := newClient(t, nil)
	s := newSyncCaller(cl, "http://"+addr+"/plaintext")
	for range 100 {
		s.call()
	}
	allocs := testing.AllocsPerRun(500, s.call)
	if s.err != nil {
		t.Fatal(s.err)
	}
	// AllocsPerRun calls once more to warm up.
	if want := (100 + 501) * len("Hello, World!"); s.n != want {
		t.Fatalf("read %d body bytes, want %d", s.n, want)
	}
	if allocs != 0 && !clientRace {
		t.Fatalf("%.2f allocations per request, want 0", allocs)
	}
}

// TestClientDoContextNoAlloc proves the steady-state blocking round trip
// (DoContext, then Release) allocates nothing and returns each response
// whole.
func TestClientDoContextNoAlloc(t *testing.T) {
	allocs := roundTripAllocs(t, func(cl *Client, req *ClientRequest) (*Response, error) {
		return cl.DoContext(context.Background(), req)
	})
	if allocs != 0 && !clientRace {
		t.Fatalf("%.2f allocations per request, want 0", allocs)
	}
}

// TestClientDoAwaitAllocs checks the documented cost of Do(req).Await in
// the steady state: three allocations per request (the future, its
// executor and the future's extension), and each response whole.
func TestClientDoAwaitAllocs(t *testing.T) {
	allocs := roundTripAllocs(t, func(cl *Client, req *ClientRequest) (*Response, error) {
		return cl.Do(req).Await(context.Background())
	})
	if allocs > 3 && !clientRace {
		t.Fatalf("%.2f allocations per request, want at most 3", allocs)
	}
}

// roundTripAllocs sends 100 requests through do to a plaintext server, then
// returns the allocations per request over 500 more, checking that every
// response came whole (and released).
func roundTripAllocs(t *testing.T, do func(*Client, *ClientRequest) (*Response, error)) float64 {
	t.Helper()
	if testing.Short() {
		t.Skip("allocation count")
	}
	checkLeaks(t)
	addr := plaintextServer(t)
	cl := newClient(t, nil)
	req := &ClientRequest{URL: "http://" + addr + "/plaintext"}
	var failed error
	n := 0
	call := func() {
		resp, err := do(cl, req)
		if err != nil {
			failed = err
			return
		}
		if resp.StatusCode != 200 || string(resp.Body()) != "Hello, World!" {
			failed = fmt.Errorf("got %d %q", resp.StatusCode, resp.Body())
		}
		n++
		resp.Release()
	}
	for range 100 {
		call()
	}
	allocs := testing.AllocsPerRun(500, call)
	if failed != nil {
		t.Fatal(failed)
	}
	// AllocsPerRun calls once more to warm up.
	if want := 100 + 501; n != want {
		t.Fatalf("%d responses, want %d", n, want)
	}
	return allocs
}

// BenchmarkClientDoFunc: one request at a time over a keep-alive
// connection to the ioloop server (round-trip latency).
func BenchmarkClientDoFunc(b *testing.B) {
	addr := plaintextServer(b)
	cl := newClient(b, nil)
	s := newSyncCaller(cl, "http://"+addr+"/plaintext")
	s.call()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.call()
	}
	if s.err != nil {
		b.Fatal(s.err)
	}
}

// BenchmarkClientDoFuncConcurrent keeps 64 requests in flight, each
// callback sending the next from the loop (no goroutine per request), over
// up to 64 connections.
func BenchmarkClientDoFuncConcurrent(b *testing.B) {
	addr := plaintextServer(b)
	cl := newClient(b, &Client{MaxConnsPerHost: 64})
	url := "http://" + addr + "/plaintext"
	const inflight = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	left := 0
	reqs := make([]ClientRequest, inflight)
	fns := make([]func(*Response, error), inflight)
	var failed error
	for i := range reqs {
		reqs[i].URL = url
		fns[i] = func(r *Response, err error) {
			mu.Lock()
			if err != nil && failed == nil {
				failed = err
			}
			more := left > 0 && err == nil
			if more {
				left--
			}
			mu.Unlock()
			if more {
				cl.DoFunc(&reqs[i], fns[i])
				return
			}
			wg.Done()
		}
	}
	run := func(n int) {
		left = n
		wg.Add(inflight)
		mu.Lock()
		for i := range reqs {
			cl.DoFunc(&reqs[i], fns[i])
		}
		mu.Unlock()
		wg.Wait()
	}
	run(inflight * 4) // warm the pool
	b.ReportAllocs()
	b.ResetTimer()
	run(max(b.N-inflight, 0))
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
}
