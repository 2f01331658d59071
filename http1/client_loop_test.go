package http1

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
)

// goid returns the calling goroutine's id, read from its stack header.
func goid() int64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	s = s[:bytes.IndexByte(s, ' ')]
	id, _ := strconv.ParseInt(string(s), 10, 64)
	return id
}

// loopIDs returns the goroutine id of each loop of g.
func loopIDs(t *testing.T, g *ioloop.Group) map[int64]bool {
	t.Helper()
	ids := make(map[int64]bool)
	for _, l := range g.Loops() {
		ch := make(chan int64, 1)
		if err := l.Post(func() { ch <- goid() }); err != nil {
			t.Fatal(err)
		}
		ids[<-ch] = true
	}
	return ids
}

// earlyFailures are requests that fail before they reach a connection,
// each on a different path of the client.
func earlyFailures(t *testing.T, cl *Client) []*ClientRequest {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	return []*ClientRequest{
		{URL: "ftp://x/"},
		{URL: "http://a b/"},
		{URL: "http://127.0.0.1:1/", Header: []Field{{Name: "Host", Value: "x"}}},
		{URL: "http://127.0.0.1:1/", Method: "G T"},
		{URL: "http://127.0.0.1:1/", Context: cancelled},
	}
}

// DoFunc never calls fn inline, even when the request fails before it
// reached a connection: fn runs later, on a loop of the Group. Called from
// a loop callback, fn runs after that callback returned (a chain of
// DoFuncs does not recurse); called from a goroutine, fn runs on a loop.
func TestClientDoFuncNeverInline(t *testing.T) {
	checkLeaks(t)
	cl := newClient(t, nil)
	ids := loopIDs(t, cl.Group)
	for i, req := range earlyFailures(t, cl) {
		// From a goroutine: fn runs on a loop, not on this goroutine.
		got := make(chan int64, 1)
		me := goid()
		cl.DoFunc(req, func(resp *Response, err error) {
			if err == nil || resp != nil {
				t.Errorf("request %d: got %v, %v; want an error", i, resp, err)
			}
			got <- goid()
		})
		if id := <-got; id == me || !ids[id] {
			t.Errorf("request %d: fn ran on goroutine %d (caller %d, loops %v)", i, id, me, ids)
		}
		// From a loop callback: fn runs after DoFunc returned (on this
		// loop after the callback, or on the other loop).
		l := cl.Group.Loops()[i%2]
		done := make(chan error, 1)
		if err := l.Post(func() {
			returned := make(chan struct{})
			cl.DoFunc(req, func(_ *Response, err error) {
				select {
				case <-returned:
					done <- nil
				case <-time.After(2 * time.Second):
					done <- errors.New("fn ran inside DoFunc")
				}
			})
			close(returned)
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d: fn never ran", i)
		}
	}
}

// A chain of DoFuncs that each fail early, each started from the previous
// one's fn, runs to its end without growing the stack: 10,000 links.
func TestClientDoFuncChainDoesNotRecurse(t *testing.T) {
	checkLeaks(t)
	cl := newClient(t, nil)
	req := &ClientRequest{URL: "ftp://x/"}
	const links = 10000
	done := make(chan int, 1)
	depth := 0
	var next func(*Response, error)
	n := 0
	next = func(_ *Response, err error) {
		var pcs [256]uintptr
		if d := runtime.Callers(0, pcs[:]); d > depth {
			depth = d
		}
		n++
		if n == links {
			done <- depth
			return
		}
		cl.DoFunc(req, next)
	}
	cl.DoFunc(req, next)
	select {
	case d := <-done:
		if d >= 200 {
			t.Fatalf("stack %d frames deep after %d links: fn runs inline", d, links)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the chain stopped after %d links", n)
	}
}

// Every continuation of Do's future runs on a loop of the Group: on the
// answering connection's loop, or on a loop of the Group when the request
// failed early. Never on the caller nor on a new goroutine.
func TestClientDoContinuationsOnLoop(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
	cl := newClient(t, nil)
	ids := loopIDs(t, cl.Group)
	reqs := append(earlyFailures(t, cl), &ClientRequest{URL: srv.url("/")})
	for i, req := range reqs {
		f := cl.Do(req)
		var ran [3]int64
		var wg sync.WaitGroup
		wg.Add(2)
		f.OnComplete(func(*Response, error) { ran[0] = goid(); wg.Done() })
		g := async.Map(f, func(r *Response) int { ran[1] = goid(); return r.StatusCode })
		g.OnComplete(func(int, error) { ran[2] = goid(); wg.Done() })
		wg.Wait()
		for k, id := range ran {
			if k == 1 && i < len(reqs)-1 {
				continue // Map's function runs only on success
			}
			if !ids[id] {
				t.Errorf("request %d: continuation %d ran on goroutine %d, not a loop (%v)", i, k, id, ids)
			}
		}
		if resp, err := f.Await(context.Background()); err == nil {
			resp.Release()
		}
	}
}

// Release right after Await waits for the continuations of the same
// future registered before it: a Map still reading the Response on the
// loop reads it whole, and the race detector sees no conflict with the
// recycling.
func TestClientReleaseAfterAwaitWaitsForContinuations(t *testing.T) {
	checkLeaks(t)
	body := bytes.Repeat([]byte("0123456789"), 100)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: "+strconv.Itoa(len(body))+"\n\n"+string(body))
	cl := newClient(t, nil)
	for i := range 20 {
		f := cl.Do(&ClientRequest{URL: srv.url("/")})
		g := async.Map(f, func(r *Response) bool {
			time.Sleep(5 * time.Millisecond) // Await and Release run meanwhile
			return bytes.Equal(r.Body(), body) && string(r.Header("Content-Length")) == strconv.Itoa(len(body))
		})
		resp, err := f.Await(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		resp.Release()
		// Another request may take the recycled Response at once.
		if r2, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/")}); err == nil {
			r2.Release()
		}
		if ok, err := g.Await(context.Background()); err != nil || !ok {
			t.Fatalf("round %d: the Map read a recycled Response (ok %v, err %v)", i, ok, err)
		}
	}
}

// With a mailbox of one task, 8 goroutines send requests every way (Do with
// a Map and an OnComplete, DoFunc, DoContext): every response comes whole,
// every callback and continuation runs on a loop of the Group, and the
// race detector sees nothing.
func TestClientSmallMailbox(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello")
	g, err := ioloop.New(ioloop.Options{Loops: 2, MailboxSize: 1, IOUring: testIOUring})
	if err != nil {
		t.Fatal(err)
	}
	cl := &Client{Group: g, MaxConnsPerHost: 4}
	defer g.Close()
	defer cl.Close()
	ids := loopIDs(t, g)
	const workers, rounds = 8, 100
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &ClientRequest{URL: srv.url("/")}
			for i := range rounds {
				var err error
				switch (w + i) % 3 {
				case 0:
					f := cl.Do(req)
					var where [2]int64
					m := async.Map(f, func(r *Response) string { where[0] = goid(); return string(r.Body()) })
					done := make(chan struct{})
					f.OnComplete(func(*Response, error) { where[1] = goid(); close(done) })
					var resp *Response
					if resp, err = f.Await(context.Background()); err == nil {
						resp.Release()
						var body string
						if body, err = m.Await(context.Background()); err == nil && body != "hello" {
							err = errors.New("Map read " + strconv.Quote(body))
						}
					}
					<-done
					if err == nil && (!ids[where[0]] || !ids[where[1]]) {
						err = errors.New("a continuation ran off the loops")
					}
				case 1:
					got := make(chan error, 1)
					cl.DoFunc(req, func(r *Response, err error) {
						switch {
						case err != nil:
						case !ids[goid()]:
							err = errors.New("DoFunc's fn ran off the loops")
						case string(r.Body()) != "hello":
							err = errors.New("DoFunc got " + strconv.Quote(string(r.Body())))
						}
						got <- err
					})
					err = <-got
				default:
					var resp *Response
					if resp, err = cl.DoContext(context.Background(), req); err == nil {
						if string(resp.Body()) != "hello" {
							err = errors.New("DoContext got " + strconv.Quote(string(resp.Body())))
						}
						resp.Release()
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
