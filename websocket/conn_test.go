package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// TestEchoSizes sends text and binary messages from 0 B to 16 MiB through
// the client and the server, with and without compression, and checks every
// byte that comes back, in order.
func TestEchoSizes(t *testing.T) {
	checkLeaks(t)
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20}
	if testing.Short() {
		sizes = sizes[:len(sizes)-1]
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			cfg := websocket.Config{Compression: compress, MaxMessageSize: 17 << 20}
			// 16 MiB in flight each way at once, with the default marks:
			// neither end pauses reading (PolicyQueue).
			s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return echoHandler{} })
			rec := newRecorder(false)
			c := dial(t, s.g, &websocket.Dialer{Config: cfg}, s.url, rec)
			<-rec.open
			var want []msg
			for _, n := range sizes {
				for _, mt := range []websocket.MessageType{websocket.TextMessage, websocket.BinaryMessage} {
					data := pattern(n, mt == websocket.TextMessage)
					want = append(want, msg{mt, string(data)})
					if _, err := c.WriteMessage(mt, data).Await(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, w := range want {
				got := recv(t, rec.msgs, "echo")
				if got.mt != w.mt || got.data != w.data {
					t.Fatalf("message %d: got %v of %d bytes, want %v of %d", i, got.mt, len(got.data), w.mt, len(w.data))
				}
			}
			ok := false
			_, _ = ioloop.Submit(c.Loop(), func() (int, error) { ok = c.Compressed(); return 0, nil }).Await(context.Background())
			if ok != compress {
				t.Fatalf("compression negotiated %v, want %v", ok, compress)
			}
			if err := c.Close(websocket.CloseNormal, "bye"); err != nil {
				t.Fatal(err)
			}
			ce := recv(t, rec.closed, "close")
			if ce == nil || ce.Code != websocket.CloseNormal || ce.Remote || ce.Err != nil {
				t.Fatalf("close: %v", ce)
			}
		})
	}
}

// TestPingTimeout: keep-alive pings go out; a peer that answers nothing is
// closed with ErrPingTimeout, one that answers stays.
func TestPingTimeout(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	cfg := websocket.Config{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond}
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })

	// A client of this package answers pings: still open after many.
	crec := newRecorder(false)
	c := dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")
	time.Sleep(200 * time.Millisecond)
	select {
	case ce := <-srec.closed:
		t.Fatalf("answering client closed: %v", ce)
	default:
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, srec.closed, "close")
	recv(t, crec.closed, "client close")

	// A raw client that reads the ping and never answers.
	rc := dialRaw(t, s.addr, "")
	recv(t, srec.open, "open")
	if h, _ := rc.readFrame(); h.Opcode != frame.Ping {
		t.Fatalf("got %v, want ping", h.Opcode)
	}
	rc.expectClose(websocket.ClosePolicyViolation) // a close frame, never a bare close
	ce := recv(t, srec.closed, "close")
	if ce.Code != websocket.ClosePolicyViolation || !errors.Is(ce, websocket.ErrPingTimeout) {
		t.Fatalf("close %v", ce)
	}
}
