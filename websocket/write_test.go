package websocket_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// defaultMax is the default Config.MaxMessageSize and the default
// ioloop.Options.MaxOutput: the boundary where the echo of an accepted
// message once passed the transport's output limit.
const defaultMax = 16 << 20

// clientGroup is a group for clients with the default options (MaxOutput
// included), on io_uring when the tests run that way.
func clientGroup(t testing.TB) *ioloop.Group {
	t.Helper()
	g, err := ioloop.New(ioloop.Options{Loops: 1, IOUring: os.Getenv("IOLOOP_TEST_IOURING") == "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// TestMaxMessageEcho: through a server set up as `ioloop serve --http`'s
// /ws (default limits: MaxMessageSize and MaxOutput both 16 MiB), a message
// of exactly MaxMessageSize comes back byte for byte and one byte more is
// answered with a close frame carrying 1009, with and without
// permessage-deflate (with and without context takeover).
func TestMaxMessageEcho(t *testing.T) {
	checkLeaks(t)
	payload := make([]byte, defaultMax+1)
	_, _ = rand.Read(payload) // incompressible: deflate only adds to it
	for _, tc := range []struct {
		name       string
		compress   bool
		noTakeover bool
	}{
		{name: "plain"},
		{name: "deflate", compress: true, noTakeover: true}, // as cmd/ioloop's /ws
		{name: "deflate-takeover", compress: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := websocket.Config{Compression: tc.compress, NoContextTakeover: tc.noTakeover}
			s := newServer(t, ioloop.Options{Loops: 1, MaxOutput: defaultMax}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return echoHandler{} })
			crec := newRecorder(false)
			ccfg := cfg
			ccfg.MaxMessageSize = defaultMax + 1 // the client may send one byte more than the server takes
			c := dial(t, clientGroup(t), &websocket.Dialer{Config: ccfg}, s.url, crec)
			<-crec.open
			if _, err := c.WriteMessage(websocket.BinaryMessage, payload[:defaultMax]).Await(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := recv(t, crec.msgs, "the echo of a message of MaxMessageSize")
			if got.mt != websocket.BinaryMessage || got.data != string(payload[:defaultMax]) {
				t.Fatalf("echo: %v of %d bytes, want binary of %d, equal", got.mt, len(got.data), defaultMax)
			}
			if _, err := c.WriteMessage(websocket.BinaryMessage, payload).Await(context.Background()); err != nil {
				t.Fatal(err)
			}
			ce := recv(t, crec.closed, "close after MaxMessageSize+1")
			if ce == nil || ce.Code != websocket.CloseMessageTooBig || !ce.Remote {
				t.Fatalf("client saw %v, want 1009 from the server", ce)
			}
		})
	}
}

// TestMaxMessageEchoRaw is TestMaxMessageEcho with an independent client
// that writes a whole message before it reads anything.
func TestMaxMessageEchoRaw(t *testing.T) {
	checkLeaks(t)
	s := newServer(t, ioloop.Options{Loops: 1, MaxOutput: defaultMax}, &websocket.Upgrader{}, func() websocket.Handler { return echoHandler{} })
	payload := make([]byte, defaultMax+1)
	_, _ = rand.Read(payload)
	rc := dialRaw(t, s.addr, "")
	rc.write(frameBytes(true, 0, frame.Binary, payload[:defaultMax], true))
	h, p := rc.readFrame()
	if h.Opcode != frame.Binary || !h.Fin || !bytes.Equal(p, payload[:defaultMax]) {
		t.Fatalf("echo: %v fin=%v, %d bytes, want the message back", h.Opcode, h.Fin, len(p))
	}
	rc.write(frameBytes(true, 0, frame.Binary, payload, true))
	rc.expectClose(websocket.CloseMessageTooBig)
}

// TestPipelinedLargeEcho: both ends send messages larger than the
// high-water mark without waiting for answers and echo what the other
// sends, with the default policy and marks; everything comes back, in order.
func TestPipelinedLargeEcho(t *testing.T) {
	checkLeaks(t)
	const n, size = 32, 200 << 10
	msgOf := func(tag byte, i int) []byte {
		b := pattern(size, false)
		b[0], b[1] = tag, byte(i)
		return b
	}
	// peer sends n messages tagged own on open, echoes the other tag and
	// counts its own coming back, in order.
	type peer struct {
		own, other byte
		back       atomic.Int32
		bad        atomic.Value
		done       chan struct{}
	}
	handler := func(p *peer) websocket.Handler {
		return websocket.HandlerFuncs{
			Open: func(c *websocket.Conn) {
				for i := range n {
					if err := c.Send(websocket.BinaryMessage, msgOf(p.own, i)); err != nil {
						p.bad.Store(fmt.Sprintf("send %d: %v", i, err))
					}
				}
			},
			Message: func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
				switch data[0] {
				case p.other:
					if err := c.Send(mt, data); err != nil {
						p.bad.Store(fmt.Sprintf("echo: %v", err))
					}
				case p.own:
					i := int(p.back.Load())
					if !bytes.Equal(data, msgOf(p.own, i)) {
						p.bad.Store(fmt.Sprintf("echo %d of %c differs", i, p.own))
					}
					if p.back.Add(1) == n {
						close(p.done)
					}
				}
			},
		}
	}
	sp := &peer{own: 'S', other: 'C', done: make(chan struct{})}
	cp := &peer{own: 'C', other: 'S', done: make(chan struct{})}
	s := newServer(t, ioloop.Options{Loops: 1, MaxOutput: defaultMax}, &websocket.Upgrader{}, func() websocket.Handler { return handler(sp) })
	c := dial(t, clientGroup(t), &websocket.Dialer{}, s.url, handler(cp))
	for _, p := range []*peer{sp, cp} {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%c got %d of %d echoes back: deadlock", p.own, p.back.Load(), n)
		}
		if bad := p.bad.Load(); bad != nil {
			t.Fatal(bad)
		}
	}
	_ = c.Close(websocket.CloseNormal, "")
}

// TestOutputBudget: a peer that does not read is closed past the budget
// with a close frame carrying 1008, sent after everything queued before;
// a single message larger than the whole budget is refused alone.
func TestOutputBudget(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	const maxOut = 1 << 20
	cfg := websocket.Config{MaxMessageSize: 256 << 10}
	s := newServer(t, ioloop.Options{Loops: 1, MaxOutput: maxOut}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	sc := recv(t, srec.open, "open")
	type result struct {
		tooLarge, last error
		sent           int
	}
	res, err := ioloop.Submit(sc.Loop(), func() (result, error) {
		var r result
		r.tooLarge = sc.Send(websocket.BinaryMessage, make([]byte, maxOut))
		chunk := pattern(64<<10, false)
		for r.last == nil && r.sent < 1000 {
			if r.last = sc.Send(websocket.BinaryMessage, chunk); r.last == nil {
				r.sent++
			}
		}
		return r, nil
	}).Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.tooLarge, websocket.ErrTooLarge) {
		t.Fatalf("a message over the budget: %v, want ErrTooLarge", res.tooLarge)
	}
	if !errors.Is(res.last, websocket.ErrSlowConsumer) || res.sent == 0 || res.sent > maxOut/(64<<10) {
		t.Fatalf("%d sends, then %v; want ErrSlowConsumer within %d bytes", res.sent, res.last, maxOut)
	}
	for i := 0; ; i++ {
		h, p := rc.readFrame()
		if h.Opcode == frame.Close {
			if i != res.sent {
				t.Fatalf("close frame after %d messages, want %d", i, res.sent)
			}
			if code, reason, _ := frame.ParseClose(p); code != websocket.ClosePolicyViolation || string(reason) != "slow consumer" {
				t.Fatalf("close %d %q", code, reason)
			}
			break
		}
	}
	rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.ClosePolicyViolation, ""), true))
	if _, err := io.ReadAll(rc.br); err != nil {
		t.Fatalf("after close: %v", err)
	}
	_ = rc.nc.Close()
	ce := recv(t, srec.closed, "close")
	if ce.Code != websocket.ClosePolicyViolation || !errors.Is(ce, websocket.ErrSlowConsumer) {
		t.Fatalf("server saw %v", ce)
	}
}

// TestConcurrentWriters: goroutines send through WriteMessage at once;
// every message arrives once and each goroutine's messages in order.
func TestConcurrentWriters(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	c := dial(t, s.g, &websocket.Dialer{}, s.url, newRecorder(false))
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				f := c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("%d:%d", w, i)))
				if _, err := f.Await(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := make([]int, writers)
	for k := 0; k < writers*each; k++ {
		m := recv(t, srec.msgs, "message")
		var w, i int
		if _, err := fmt.Sscanf(m.data, "%d:%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		if next[w] != i {
			t.Fatalf("writer %d: got %d, want %d", w, i, next[w])
		}
		next[w]++
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, srec.closed, "close")
}

// TestSlowConsumer: a peer that does not read makes PolicyDrop drop and
// PolicyClose close.
func TestSlowConsumer(t *testing.T) {
	checkLeaks(t)
	for _, pol := range []websocket.Policy{websocket.PolicyDrop, websocket.PolicyClose} {
		t.Run(fmt.Sprint(pol), func(t *testing.T) {
			srec := newRecorder(false)
			cfg := websocket.Config{SlowConsumer: pol, CloseTimeout: 100 * time.Millisecond}
			s := newServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
			rc := dialRaw(t, s.addr, "")
			sc := recv(t, srec.open, "open")
			chunk := make([]byte, 256<<10)
			result := make(chan error, 1)
			var tick func()
			sends := 0
			tick = func() {
				err := sc.Send(websocket.BinaryMessage, chunk)
				sends++
				if err != nil || sends > 2000 {
					result <- err
					return
				}
				sc.Loop().AfterFunc(time.Millisecond, tick)
			}
			_ = sc.Loop().Post(tick)
			err := recv(t, result, "slow consumer")
			switch pol {
			case websocket.PolicyDrop:
				if !errors.Is(err, websocket.ErrDropped) {
					t.Fatalf("got %v after %d sends", err, sends)
				}
				var dropped uint64
				_, _ = ioloop.Submit(sc.Loop(), func() (int, error) { dropped = sc.Dropped(); return 0, nil }).Await(context.Background())
				if dropped != 1 {
					t.Fatalf("dropped %d", dropped)
				}
				// Over the mark, the server still reads: the policy
				// bounds its output, so reading is not paused.
				rc.write(frameBytes(true, 0, frame.Text, []byte("still reading"), true))
				if m := recv(t, srec.msgs, "message over the mark"); m.data != "still reading" {
					t.Fatalf("got %q", m.data)
				}
				_ = rc.nc.Close()
				recv(t, srec.closed, "close")
			case websocket.PolicyClose:
				if !errors.Is(err, websocket.ErrSlowConsumer) {
					t.Fatalf("got %v after %d sends", err, sends)
				}
				_ = rc.nc.Close()
				ce := recv(t, srec.closed, "close")
				if ce.Code != websocket.ClosePolicyViolation || !errors.Is(ce, websocket.ErrSlowConsumer) {
					t.Fatalf("close %v", ce)
				}
			}
		})
	}
}

// TestSpillWithoutBackpressure: with MaxOutput equal to HighWater no
// OnBackpressure ever comes, and a message larger than MaxOutput still goes
// out whole.
func TestSpillWithoutBackpressure(t *testing.T) {
	checkLeaks(t)
	const mark = 256 << 10
	s := newServer(t, ioloop.Options{Loops: 1, HighWater: mark, LowWater: mark / 4, MaxOutput: mark}, &websocket.Upgrader{}, func() websocket.Handler { return echoHandler{} })
	rc := dialRaw(t, s.addr, "")
	payload := pattern(4*mark+3, false)
	rc.write(frameBytes(true, 0, frame.Binary, payload, true))
	if h, p := rc.readFrame(); h.Opcode != frame.Binary || !bytes.Equal(p, payload) {
		t.Fatalf("echo: %v, %d bytes, want the message back", h.Opcode, len(p))
	}
	rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.CloseNormal, ""), true))
	rc.expectClose(websocket.CloseNormal)
}
