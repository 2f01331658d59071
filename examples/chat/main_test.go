package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// client records what one member hears.
type client struct {
	heard  chan string
	closed chan error
}

func (c *client) OnOpen(*websocket.Conn) {}
func (c *client) OnMessage(_ *websocket.Conn, _ websocket.MessageType, data []byte) {
	c.heard <- string(data)
}
func (c *client) OnClose(_ *websocket.Conn, err error) { c.closed <- err }

func next(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing heard")
		return ""
	}
}

// TestChatRoom: three members join; each hears the joins, every message of
// every member once, and the leave of the one who goes.
func TestChatRoom(t *testing.T) {
	fds, _ := os.ReadDir("/proc/self/fd")
	g, err := ioloop.New(ioloop.Options{Loops: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	room := NewRoom()
	srv := &http1.Server{Handler: room}
	ln, err := srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "ws://" + ln.Addr().String() + "/chat?name="
	names := []string{"ann", "bob", "cy"}
	clients := map[string]*client{}
	conns := map[string]*websocket.Conn{}
	for i, name := range names {
		cl := &client{heard: make(chan string, 64), closed: make(chan error, 1)}
		c, err := (&websocket.Dialer{}).Dial(g, base+name, cl).Await(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		clients[name], conns[name] = cl, c
		// Everyone in the room hears the join, the newcomer included.
		for _, other := range names[:i+1] {
			if got := next(t, clients[other].heard); got != name+" joined" {
				t.Fatalf("%s heard %q, want %q", other, got, name+" joined")
			}
		}
	}
	if room.Len() != 3 {
		t.Fatalf("%d members", room.Len())
	}
	for _, name := range names {
		if _, err := conns[name].WriteMessage(websocket.TextMessage, []byte("hi from "+name)).Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, other := range names {
			if got := next(t, clients[other].heard); got != name+": hi from "+name {
				t.Fatalf("%s heard %q", other, got)
			}
		}
	}
	_ = conns["bob"].Close(websocket.CloseNormal, "bye")
	<-clients["bob"].closed
	for _, other := range []string{"ann", "cy"} {
		if got := next(t, clients[other].heard); got != "bob left" {
			t.Fatalf("%s heard %q", other, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ann", "cy"} {
		if ce, ok := (<-clients[name].closed).(*websocket.CloseError); !ok || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("%s: %v", name, ce)
		}
	}
	_ = g.Close()
	if after, _ := os.ReadDir("/proc/self/fd"); len(after) > len(fds) {
		t.Fatalf("descriptors leaked: %d before, %d after", len(fds), len(after))
	}
}
