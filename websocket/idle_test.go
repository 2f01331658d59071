package websocket_test

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// idleSlack is how late past the idle limit the close may come on a loaded
// machine (timers run on loop iterations; -race slows everything).
const idleSlack = 2 * time.Second

// wantIdleClose checks that OnClose got the idle limit's close: 1001 with
// the reason "idle timeout", sent by this side, wrapping ErrIdleTimeout.
func wantIdleClose(t *testing.T, ce *websocket.CloseError, what string) {
	t.Helper()
	if ce == nil || ce.Code != websocket.CloseGoingAway || ce.Reason != "idle timeout" || ce.Remote ||
		!errors.Is(ce, ioloop.ErrIdleTimeout) {
		t.Fatalf("%s: OnClose got %v, want 1001 \"idle timeout\" by this side wrapping ioloop.ErrIdleTimeout", what, ce)
	}
}

// readIdleClose reads frames from the server until its close frame, which
// must come within idle (not before) plus idleSlack of start and carry
// 1001 "idle timeout". It returns the non-close frames' opcodes.
func (rc *rawClient) readIdleClose(start time.Time, idle time.Duration) []frame.Opcode {
	rc.t.Helper()
	var others []frame.Opcode
	for {
		h, p := rc.readFrame()
		if h.Opcode != frame.Close {
			others = append(others, h.Opcode)
			continue
		}
		el := time.Since(start)
		if el < idle-20*time.Millisecond || el > idle+idleSlack {
			rc.t.Fatalf("idle close after %v, want about %v", el, idle)
		}
		code, reason, err := frame.ParseClose(p)
		if err != nil || code != websocket.CloseGoingAway || string(reason) != "idle timeout" {
			rc.t.Fatalf("close frame %d %q (%v), want 1001 \"idle timeout\"", code, reason, err)
		}
		return others
	}
}

// TestIdleServerSilentPeer: an upgraded connection whose peer sends nothing
// is closed by the idle limit with a close frame (1001), not by the
// transport (1006); the peer's echo completes the handshake, the server
// then ends the stream cleanly, and OnClose gets ioloop.ErrIdleTimeout.
func TestIdleServerSilentPeer(t *testing.T) {
	checkLeaks(t)
	const idle = 200 * time.Millisecond
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{IdleTimeout: idle}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	start := time.Now()
	rc := dialRaw(t, s.addr, "")
	recv(t, srec.open, "open")
	if others := rc.readIdleClose(start, idle); len(others) != 0 {
		t.Fatalf("frames before the close: %v", others)
	}
	rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.CloseGoingAway, ""), true))
	if _, err := io.ReadAll(rc.br); err != nil {
		t.Fatalf("after the close handshake: %v", err)
	}
	_ = rc.nc.Close()
	wantIdleClose(t, recv(t, srec.closed, "server close"), "server")
}

// TestIdleServerNoCloseAnswer: a peer that does not answer the idle close
// frame is cut off after Config.CloseTimeout; OnClose still reports the
// idle limit as the cause (not the close time-out).
func TestIdleServerNoCloseAnswer(t *testing.T) {
	checkLeaks(t)
	const idle = 150 * time.Millisecond
	srec := newRecorder(false)
	up := &websocket.Upgrader{Config: websocket.Config{CloseTimeout: 100 * time.Millisecond}}
	s := newServer(t, ioloop.Options{IdleTimeout: idle}, up, func() websocket.Handler { return srec })
	start := time.Now()
	rc := dialRaw(t, s.addr, "")
	rc.readIdleClose(start, idle)
	_, _ = io.ReadAll(rc.br) // the server aborts: EOF or a reset
	wantIdleClose(t, recv(t, srec.closed, "server close"), "server")
}

// TestIdleOwnPingsDoNotCount: the keep-alive pings the server sends do not
// keep a silent peer's connection open: the idle limit closes it (long
// before the ping check would).
func TestIdleOwnPingsDoNotCount(t *testing.T) {
	checkLeaks(t)
	const idle = 250 * time.Millisecond
	srec := newRecorder(false)
	up := &websocket.Upgrader{Config: websocket.Config{PingInterval: 40 * time.Millisecond, PingTimeout: time.Minute}}
	s := newServer(t, ioloop.Options{IdleTimeout: idle}, up, func() websocket.Handler { return srec })
	start := time.Now()
	rc := dialRaw(t, s.addr, "")
	others := rc.readIdleClose(start, idle)
	if len(others) == 0 {
		t.Fatal("no keep-alive ping before the idle close")
	}
	for _, op := range others {
		if op != frame.Ping {
			t.Fatalf("frames before the close: %v, want pings only", others)
		}
	}
	rc.write(frameBytes(true, 0, frame.Close, nil, true))
	_, _ = io.ReadAll(rc.br)
	_ = rc.nc.Close()
	wantIdleClose(t, recv(t, srec.closed, "server close"), "server")
}

// TestIdleAnsweredPingsCount: pongs are activity: a client that answers the
// server's keep-alive pings, and sends nothing else, is not idle.
func TestIdleAnsweredPingsCount(t *testing.T) {
	checkLeaks(t)
	const idle = 300 * time.Millisecond // ten ping intervals: room for a stalled machine
	srec := newRecorder(false)
	up := &websocket.Upgrader{Config: websocket.Config{PingInterval: 30 * time.Millisecond}}
	s := newServer(t, ioloop.Options{IdleTimeout: idle}, up, func() websocket.Handler { return srec })
	cg := newClientGroup(t, ioloop.Options{})
	crec := newRecorder(false)
	c := dial(t, cg, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")
	select {
	case ce := <-srec.closed:
		t.Fatalf("server closed a connection that answers pings: %v", ce)
	case ce := <-crec.closed:
		t.Fatalf("client saw a close: %v", ce)
	case <-time.After(5 * idle):
	}
	if err := c.Close(websocket.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, srec.closed, "server close"); ce.Code != websocket.CloseNormal || !ce.Remote {
		t.Fatalf("server saw %v", ce)
	}
	recv(t, crec.closed, "client close")
}

// TestIdleActive: messages flowing both ways faster than the limit keep a
// connection open on both sides (client and server both under the limit)
// for many times the limit; every message arrives, in order.
func TestIdleActive(t *testing.T) {
	checkLeaks(t)
	const idle = 300 * time.Millisecond
	s := newServer(t, ioloop.Options{IdleTimeout: idle}, &websocket.Upgrader{}, func() websocket.Handler { return echoHandler{} })
	crec := newRecorder(false)
	c := dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	const n = 40 // over 1 s: four times the limit
	tick := time.NewTicker(idle / 10)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		m := string(pattern(10+i, true))
		if _, err := c.WriteMessage(websocket.TextMessage, []byte(m)).Await(t.Context()); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		select {
		case got := <-crec.msgs:
			if got.data != m {
				t.Fatalf("message %d: echo %q, want %q", i, got.data, m)
			}
		case ce := <-crec.closed:
			t.Fatalf("closed after %d messages: %v", i, ce)
		case <-time.After(10 * time.Second):
			t.Fatalf("no echo of message %d", i)
		}
	}
	if err := c.Close(websocket.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != websocket.CloseNormal || ce.Remote || ce.Err != nil {
		t.Fatalf("client saw %v", ce)
	}
}

// pusher sends a message every period from OnOpen on, and nothing else.
type pusher struct {
	period time.Duration
	t      ioloop.Timer
}

func (p *pusher) OnOpen(c *websocket.Conn) {
	p.t = c.Loop().EveryFunc(p.period, func() { _ = c.SendText("tick") })
}
func (p *pusher) OnMessage(*websocket.Conn, websocket.MessageType, []byte) {}
func (p *pusher) OnClose(*websocket.Conn, error)                           { p.t.Stop() }

// TestIdleOneWay: a server that only sends (its writes are activity) to a
// client that only reads (its reads are activity) is idle on neither side.
func TestIdleOneWay(t *testing.T) {
	checkLeaks(t)
	const idle = 300 * time.Millisecond
	s := newServer(t, ioloop.Options{IdleTimeout: idle}, &websocket.Upgrader{}, func() websocket.Handler {
		return &pusher{period: idle / 10}
	})
	cg := newClientGroup(t, ioloop.Options{IdleTimeout: idle})
	crec := newRecorder(false)
	c := dial(t, cg, &websocket.Dialer{}, s.url, crec)
	deadline := time.After(4 * idle)
	for n := 0; ; n++ {
		select {
		case m := <-crec.msgs:
			if m.data != "tick" {
				t.Fatalf("got %q", m.data)
			}
			continue
		case ce := <-crec.closed:
			t.Fatalf("closed after %d messages: %v", n, ce)
		case <-deadline:
		}
		break
	}
	if err := c.Close(websocket.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != websocket.CloseNormal || ce.Remote || ce.Err != nil {
		t.Fatalf("client saw %v", ce)
	}
}

// TestIdleClientSilentServer: a dialed connection to a server that sends
// nothing is closed by the client group's idle limit with a close frame:
// the server sees 1001 from the peer and the handshake completes.
func TestIdleClientSilentServer(t *testing.T) {
	checkLeaks(t)
	const idle = 200 * time.Millisecond
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	cg := newClientGroup(t, ioloop.Options{IdleTimeout: idle})
	crec := newRecorder(false)
	start := time.Now()
	dial(t, cg, &websocket.Dialer{}, s.url, crec)
	ce := recv(t, srec.closed, "server close")
	if el := time.Since(start); el < idle-20*time.Millisecond || el > idle+idleSlack {
		t.Fatalf("idle close after %v, want about %v", el, idle)
	}
	if ce.Code != websocket.CloseGoingAway || ce.Reason != "idle timeout" || !ce.Remote {
		t.Fatalf("server saw %v, want 1001 \"idle timeout\" from the peer", ce)
	}
	wantIdleClose(t, recv(t, crec.closed, "client close"), "client")
}

// newClientGroup is a group for dialing, closed when the test ends.
func newClientGroup(t *testing.T, o ioloop.Options) *ioloop.Group {
	t.Helper()
	if o.Loops == 0 {
		o.Loops = 1
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.IOUring = o.IOUring || os.Getenv("IOLOOP_TEST_IOURING") == "1"
	g, err := ioloop.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}
