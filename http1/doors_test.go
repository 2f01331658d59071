package http1

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestBlockingDoorsFromCallback calls every http1 door that would block
// from a loop callback: each fails at once with ioloop.ErrOnLoop instead of
// waiting on its own loop; the same doors then work from a goroutine.
func TestBlockingDoorsFromCallback(t *testing.T) {
	checkLeaks(t)
	s := &Server{Handler: testHandler{}, Logger: quietLogger()}
	g, err := ioloop.New(ioloop.Options{Loops: 1, IOUring: testIOUring})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &Client{Group: g}
	defer cl.Close()
	url := "http://" + ln.Addr().String() + "/plaintext"

	type result struct {
		door string
		err  error
	}
	results := make(chan result, 8)
	err = g.Loops()[0].Post(func() {
		_, err := s.Listen(g, "tcp", "127.0.0.1:0")
		results <- result{"Server.Listen", err}
		results <- result{"Server.Shutdown", s.Shutdown(context.Background())}
		results <- result{"Server.Close", s.Close()}
		_, err = cl.DoContext(context.Background(), &ClientRequest{Method: "GET", URL: url})
		results <- result{"Client.DoContext", err}
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		select {
		case r := <-results:
			if !errors.Is(r.err, ioloop.ErrOnLoop) {
				t.Errorf("%s from a callback: %v, want ErrOnLoop", r.door, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a door blocked its loop")
		}
	}
	// The refused calls changed nothing: the server still answers.
	resp, err := cl.DoContext(context.Background(), &ClientRequest{Method: "GET", URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(resp.Body()) != "Hello, World!" {
		t.Fatalf("after the refused calls: %d %q", resp.StatusCode, resp.Body())
	}
	resp.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown from a goroutine: %v", err)
	}
}
