package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/poller"
)

// DoContext's rendezvous: goroutines that post to loops and wait on a
// Signal each get every result, in order, none lost or doubled: 8
// goroutines x 2,000 rounds over two loops, notified by Notify and
// NotifyNow in turn.
func TestSignalFromLoops(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const workers, rounds = 8, 2000
	var bad atomic.Int64
	done := make(chan struct{}, workers)
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			sig := poller.NewSignal()
			defer sig.Close()
			l := g.Loops()[w%2]
			got := 0
			for i := 1; i <= rounds; i++ {
				if err := l.Post(func() {
					got = i
					if i%2 == 0 {
						sig.NotifyNow()
					} else {
						sig.Notify()
					}
				}); err != nil {
					bad.Add(1)
					return
				}
				sig.Wait()
				if got != i {
					bad.Add(1)
				}
			}
		}()
	}
	timeout := time.After(60 * time.Second)
	for range workers {
		select {
		case <-done:
		case <-timeout:
			t.Fatal("a goroutine never got its result: a Notify was lost")
		}
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d results were missing or out of order", n)
	}
}

// Goroutines blocked in DoContext each get their own response: 16
// goroutines x 50 requests, each with its own path echoed back, on a
// Client whose idle waits (one descriptor each) are reused between calls
// and released by Close (checkLeaks counts them).
func TestClientDoContextConcurrentWaits(t *testing.T) {
	testConcurrentWaits(t, func(cl *Client, req *ClientRequest) (*Response, error) {
		return cl.DoContext(context.Background(), req)
	})
}

// TestClientDoAwaitConcurrentWaits is the same with Do(req).Await, whose
// first awaiter sleeps in one of the Client's waits (async.WaiterSource).
func TestClientDoAwaitConcurrentWaits(t *testing.T) {
	testConcurrentWaits(t, func(cl *Client, req *ClientRequest) (*Response, error) {
		return cl.Do(req).Await(context.Background())
	})
}

// testConcurrentWaits runs 16 goroutines × 50 requests through do, each
// checking that it got its own response; the waits' descriptors are
// counted by the leak check.
func testConcurrentWaits(t *testing.T, do func(*Client, *ClientRequest) (*Response, error)) {
	checkLeaks(t)
	srv := newPathServer(t, nil)
	cl := newClient(t, &Client{MaxConnsPerHost: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				path := "/" + strconv.Itoa(g) + "/" + strconv.Itoa(i)
				resp, err := do(cl, &ClientRequest{URL: srv.url(path)})
				if err != nil {
					errs <- err
					return
				}
				body := string(resp.Body())
				resp.Release()
				if body != path {
					errs <- fmt.Errorf("request %s got %q", path, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestClientDoAwaitContextEnds: an Await whose context ends before the
// response returns the context's error and leaves the exchange going; a
// second Await gets the response, and the next requests (reusing the
// Client's waits) get theirs.
func TestClientDoAwaitContextEnds(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	srv := newPathServer(t, func(path string, _ *bufio.Reader) {
		if path == "/slow" {
			<-release
		}
	})
	cl := newClient(t, &Client{})
	f := cl.Do(&ClientRequest{URL: srv.url("/slow")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := f.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await: %v, want the context's deadline", err)
	}
	close(release)
	resp, err := f.Await(context.Background())
	if err != nil || string(resp.Body()) != "/slow" {
		t.Fatalf("second Await: %v, %v", resp, err)
	}
	resp.Release()
	for i := range 20 {
		path := "/" + strconv.Itoa(i)
		resp, err := cl.Do(&ClientRequest{URL: srv.url(path)}).Await(nil)
		if err != nil || string(resp.Body()) != path {
			t.Fatalf("request %s: %v, %v", path, resp, err)
		}
		resp.Release()
	}
}
