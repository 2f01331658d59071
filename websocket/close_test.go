package websocket_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// TestCloseStopsSends: once Close returned, sends fail with ErrClosed at
// once, from another goroutine and on the loop, before the loop sent the
// close frame; the handshake then completes.
func TestCloseStopsSends(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	crec := newRecorder(false)
	c := dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")

	// On the loop: Close then Send in the same callback.
	errs, _ := ioloop.Submit(c.Loop(), func() ([3]error, error) {
		return [3]error{
			c.Close(websocket.CloseNormal, "bye"),
			c.SendText("after close"),
			c.Ping(nil),
		}, nil
	}).Await(context.Background())
	if errs[0] != nil || !errors.Is(errs[1], websocket.ErrClosed) || !errors.Is(errs[2], websocket.ErrClosed) {
		t.Fatalf("Close, Send, Ping on the loop: %v", errs)
	}
	if ce := recv(t, srec.closed, "server close"); ce.Code != websocket.CloseNormal || ce.Reason != "bye" || !ce.Remote {
		t.Fatalf("server saw %v", ce)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != websocket.CloseNormal || ce.Remote || ce.Err != nil {
		t.Fatalf("client saw %v", ce)
	}
	select {
	case m := <-srec.msgs:
		t.Fatalf("a message sent after Close arrived: %q", m.data)
	default:
	}

	// From another goroutine: the posted send finds the connection closing.
	c2 := dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")
	if err := c2.Close(websocket.CloseGoingAway, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.WriteMessage(websocket.TextMessage, []byte("late")).Await(context.Background()); !errors.Is(err, websocket.ErrClosed) {
		t.Fatalf("WriteMessage after Close: %v", err)
	}
	if err := c2.Close(websocket.CloseNormal, ""); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	if ce := recv(t, srec.closed, "server close"); ce.Code != websocket.CloseGoingAway {
		t.Fatalf("server saw %v", ce)
	}
	recv(t, crec.closed, "client close")
}

// TestCloseNow: CloseNow from another goroutine ends the connection without
// a close frame; the peer sees the stream end, OnClose gets 1006.
func TestCloseNow(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	sc := recv(t, srec.open, "open")
	if _, err := sc.WriteMessage(websocket.TextMessage, []byte("before")).Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sc.CloseNow(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.WriteMessage(websocket.TextMessage, []byte("after")).Await(context.Background()); !errors.Is(err, websocket.ErrClosed) {
		t.Fatalf("WriteMessage after CloseNow: %v", err)
	}
	h, p := rc.readFrame()
	if h.Opcode != frame.Text || string(p) != "before" {
		t.Fatalf("got %v %q, want the message queued before", h.Opcode, p)
	}
	rest, err := io.ReadAll(rc.br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after CloseNow: %d more bytes, %v; want the end of the stream", len(rest), err)
	}
	_ = rc.nc.Close()
	ce := recv(t, srec.closed, "close")
	if ce.Code != websocket.CloseAbnormal || ce.Remote || ce.Err == nil || !strings.Contains(ce.Err.Error(), "CloseNow") {
		t.Fatalf("server saw %v", ce)
	}
}
