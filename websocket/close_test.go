package websocket_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
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

// TestCloseFromServer: the server starts the close handshake; the client
// echoes it and both see the server's code.
func TestCloseFromServer(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	crec := newRecorder(false)
	dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	sc := recv(t, srec.open, "server open")
	if err := sc.Close(websocket.CloseGoingAway, "restart"); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != 1001 || ce.Reason != "restart" || !ce.Remote {
		t.Fatalf("client saw %v", ce)
	}
	if ce := recv(t, srec.closed, "server close"); ce.Code != 1001 || ce.Remote || ce.Err != nil {
		t.Fatalf("server saw %v", ce)
	}
	if err := sc.Close(9999, ""); !errors.Is(err, websocket.ErrCloseCode) {
		t.Fatalf("invalid code accepted: %v", err)
	}
}

// TestCloseWithoutFrame: a peer that just disconnects gives 1006.
func TestCloseWithoutFrame(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	recv(t, srec.open, "open")
	_ = rc.nc.Close()
	if ce := recv(t, srec.closed, "close"); ce.Code != websocket.CloseAbnormal || ce.Err == nil {
		t.Fatalf("close %v", ce)
	}
}

// TestCloseTimeout: a peer that never answers the close frame is cut after
// CloseTimeout.
func TestCloseTimeout(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: websocket.Config{CloseTimeout: 50 * time.Millisecond}}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	sc := recv(t, srec.open, "open")
	_ = sc.Close(websocket.CloseNormal, "")
	if h, _ := rc.readFrame(); h.Opcode != frame.Close {
		t.Fatalf("got %v", h.Opcode)
	}
	ce := recv(t, srec.closed, "close")
	if ce.Code != websocket.CloseNormal || !errors.Is(ce, websocket.ErrCloseTimeout) {
		t.Fatalf("close %v", ce)
	}
}

// TestShutdown: the server's Shutdown closes upgraded connections with
// 1001 and waits for them.
func TestShutdown(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	crec := newRecorder(false)
	dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != websocket.CloseGoingAway {
		t.Fatalf("client saw %v", ce)
	}
	if s.srv.NumConns() != 0 {
		t.Fatalf("%d connections left", s.srv.NumConns())
	}
}

// TestHandlerPanic: a panic in a handler ends its connection only, with a
// close frame carrying 1011; the loop goes on serving others. A client
// whose OnOpen panics gets the panic from Dial's future.
func TestHandlerPanic(t *testing.T) {
	checkLeaks(t)
	closed := make(chan *websocket.CloseError, 4)
	h := websocket.HandlerFuncs{
		Message: func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
			if string(data) == "boom" {
				panic("boom")
			}
			_ = c.Send(mt, data)
		},
		Closed: func(_ *websocket.Conn, err error) { closed <- err.(*websocket.CloseError) },
	}
	s := newServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{}, func() websocket.Handler { return h })
	rc := dialRaw(t, s.addr, "")
	rc.write(frameBytes(true, 0, frame.Text, []byte("boom"), true))
	rc.expectClose(websocket.CloseInternalError)
	ce := recv(t, closed, "server close")
	var pe *async.PanicError
	if ce.Code != websocket.CloseInternalError || !errors.As(ce.Err, &pe) || pe.Value != "boom" {
		t.Fatalf("server saw %v", ce)
	}

	other := dialRaw(t, s.addr, "")
	other.write(frameBytes(true, 0, frame.Text, []byte("still here"), true))
	if hd, p := other.readFrame(); hd.Opcode != frame.Text || string(p) != "still here" {
		t.Fatalf("after a panic on the loop: %v %q", hd.Opcode, p)
	}
	other.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.CloseNormal, ""), true))
	other.expectClose(websocket.CloseNormal)
	recv(t, closed, "server close")

	_, err := (&websocket.Dialer{}).Dial(s.g, s.url, websocket.HandlerFuncs{
		Open: func(*websocket.Conn) { panic("open") },
	}).Await(context.Background())
	if !errors.As(err, &pe) || pe.Value != "open" {
		t.Fatalf("Dial with a panicking OnOpen: %v", err)
	}
	recv(t, closed, "server close")
}
