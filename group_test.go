package ioloop_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func TestShutdownGraceful(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := newEcho()
	ln, err := g.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	var cs []net.Conn
	for range 10 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, []byte("hi"))
		cs = append(cs, c)
	}
	// Clients close when they see the server's FIN, as real ones do.
	eofs := make(chan error, len(cs))
	for _, c := range cs {
		go func() {
			_, err := c.Read(make([]byte, 1))
			c.Close()
			eofs <- err
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range cs { // BaseHandler.OnShutdown closed them gracefully
		if err := <-eofs; err != io.EOF {
			t.Fatalf("client read after shutdown: %v, want EOF", err)
		}
	}
	if n := len(h.waitCloses(t, len(cs))); n != len(cs) {
		t.Fatalf("%d OnClose calls", n)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
	if _, err := g.Listen("tcp", "127.0.0.1:0", h); !errors.Is(err, ioloop.ErrGroupClosed) {
		t.Fatalf("Listen after Shutdown: %v, want ErrGroupClosed", err)
	}
}

func TestInvalidOptionsAndAddresses(t *testing.T) {
	checkLeaks(t)
	for _, o := range []ioloop.Options{
		{Loops: -1},
		{HighWater: 100, LowWater: 100},
		{IdleTimeout: -time.Second},
		{Balance: ioloop.Balance(42)},
		{MaxOutput: 10, HighWater: 100, LowWater: 10},
	} {
		if g, err := ioloop.New(o); err == nil {
			g.Close()
			t.Errorf("New(%+v) did not fail", o)
		}
	}
	g := newGroup(t, ioloop.Options{Loops: 1})
	for _, a := range [][2]string{{"tcp", "127.0.0.1:99999"}, {"tcp", "no-such-host.invalid:80"}, {"sctp", "127.0.0.1:0"}, {"unix", "/nonexistent-dir/x.sock"}} {
		if _, err := g.Listen(a[0], a[1], newEcho()); err == nil {
			t.Errorf("Listen(%q, %q) did not fail", a[0], a[1])
		}
	}
	if _, err := g.Listen("tcp", "127.0.0.1:0", nil); err == nil {
		t.Error("Listen with a nil handler did not fail")
	}
}
