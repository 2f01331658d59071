package ioloop_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestDebugOwnerCheck: in the debug build, a loop-only method called from
// another goroutine panics with a message that names the method; on the
// loop it does not. In the normal build the call is not checked (and must
// not be made: this test then only runs the loop half).
func TestDebugOwnerCheck(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	srv := &openNotifier{echoHandler: newEcho(), conns: make(chan *ioloop.Conn, 1)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", srv)
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sc := <-srv.conns
	l := sc.Loop()
	if _, err := ioloop.Submit(l, func() (int, error) { return sc.Buffered(), nil }).Await(context.Background()); err != nil {
		t.Fatalf("Buffered on the loop: %v", err)
	}
	if !ioloop.DebugChecks {
		return
	}
	for name, call := range map[string]func(){
		"Conn.Write":          func() { sc.Write([]byte("x")) },
		"Conn.Buffered":       func() { sc.Buffered() },
		"Conn.SetValue":       func() { sc.SetValue(1) },
		"Loop.AfterFunc":      func() { l.AfterFunc(time.Second, func() {}) },
		"Conn.PauseRead":      func() { sc.PauseRead() },
		"Conn.OutputLen":      func() { sc.OutputLen() },
		"Conn.Next":           func() { sc.Next(-1) },
		"Loop.Now":            func() { l.Now() },
		"Conn.SetIdleTimeout": func() { sc.SetIdleTimeout(time.Second) },
	} {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, name) || !strings.Contains(msg, "loop only") {
					t.Errorf("%s off its loop: recovered %v, want a panic naming it", name, r)
				}
			}()
			call()
		}()
	}
}

// BenchmarkLoopOnlyCall measures a loop-only call on its loop: run it with
// and without -tags ioloopdebug to see what the owner check costs (nothing
// without the tag).
func BenchmarkLoopOnlyCall(b *testing.B) {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	l := g.Loops()[0]
	b.ResetTimer()
	_, err = ioloop.Submit(l, func() (int, error) {
		var n int64
		for range b.N {
			n += l.Now().UnixNano() & 1
		}
		return int(n), nil
	}).Await(context.Background())
	if err != nil {
		b.Fatal(err)
	}
}
