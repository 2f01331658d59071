package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// TestRunWS runs the ws workload against the embedded /ws echo: every round
// trip is checked byte for byte by the client, so no error and some
// operations mean the server echoed exactly.
func TestRunWS(t *testing.T) {
	for _, size := range []int{64, 4096} {
		r, err := runWS(wsConfig{conns: 20, size: size, duration: 300 * time.Millisecond, loops: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Workload != "ws" || r.Conns != 20 || r.Size != size || r.Pipeline != 1 {
			t.Fatalf("result header %+v", r)
		}
		if r.Errors != 0 || r.Ops == 0 {
			t.Fatalf("size %d: %d ops, %d errors", size, r.Ops, r.Errors)
		}
	}
}

// TestWSRouteMaxMessage: `ioloop serve --http`'s /ws, with the default
// limits, echoes a message of exactly the default MaxMessageSize byte for
// byte and answers one byte more with a close frame carrying 1009, with and
// without permessage-deflate.
func TestWSRouteMaxMessage(t *testing.T) {
	const max = 16 << 20
	payload := make([]byte, max+1)
	_, _ = crand.Read(payload)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			srv, err := ioloop.New(ioloop.Options{Loops: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			ln, err := (&http1.Server{Handler: newWSRoute(httpHandler{})}).Listen(srv, "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			g, err := ioloop.New(ioloop.Options{Loops: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			msgs := make(chan []byte, 1)
			closed := make(chan error, 1)
			h := websocket.HandlerFuncs{
				Message: func(_ *websocket.Conn, _ websocket.MessageType, data []byte) { msgs <- bytes.Clone(data) },
				Closed:  func(_ *websocket.Conn, err error) { closed <- err },
			}
			d := &websocket.Dialer{Config: websocket.Config{Compression: compress, MaxMessageSize: max + 1}}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := d.Dial(g, "ws://"+ln.Addr().String()+"/ws", h).Await(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WriteMessage(websocket.BinaryMessage, payload[:max]).Await(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-msgs:
				if !bytes.Equal(got, payload[:max]) {
					t.Fatalf("echo of %d bytes differs", len(got))
				}
			case err := <-closed:
				t.Fatalf("closed instead of the echo: %v", err)
			case <-ctx.Done():
				t.Fatal("no echo")
			}
			if _, err := c.WriteMessage(websocket.BinaryMessage, payload).Await(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-closed:
				if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseMessageTooBig || !ce.Remote {
					t.Fatalf("closed with %v, want 1009 from the server", err)
				}
			case <-ctx.Done():
				t.Fatal("not closed")
			}
		})
	}
}
