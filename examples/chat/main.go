// Command chat is a chat room on ioloop: an HTTP server whose GET /chat
// upgrades to WebSocket. Every text message a member sends is broadcast to
// all members, prefixed with the sender's name (the "name" query parameter,
// or "guest"); joins and leaves are announced. The room is owned by one
// structure guarded by a mutex, since members live on different
// loops; each broadcast is encoded once with
// websocket.NewPreparedMessage and sent with websocket.Broadcast.
//
//	go run ./examples/chat -addr 127.0.0.1:8080
//	# then connect any WebSocket client to ws://127.0.0.1:8080/chat?name=ann
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// Room is the set of members and the broadcaster. Its methods are safe from
// any goroutine (members join and leave from their own loops).
type Room struct {
	mu      sync.Mutex
	members map[*websocket.Conn]string
	up      websocket.Upgrader
}

// NewRoom returns an empty room whose members' slow consumers lose
// messages instead of holding the room back.
func NewRoom() *Room {
	return &Room{
		members: make(map[*websocket.Conn]string),
		up:      websocket.Upgrader{Config: websocket.Config{SlowConsumer: websocket.PolicyDrop, MaxMessageSize: 4 << 10}},
	}
}

// ServeHTTP1 upgrades GET /chat and answers 404 elsewhere.
func (r *Room) ServeHTTP1(w *http1.ResponseWriter, req *http1.Request) {
	if string(req.Path()) != "/chat" {
		_ = w.SetStatus(404)
		return
	}
	name := "guest"
	if q, err := url.ParseQuery(string(req.Query())); err == nil && q.Get("name") != "" {
		name = q.Get("name")
	}
	_, _ = r.up.Upgrade(w, req, &member{room: r, name: name})
}

// say broadcasts text to every member and returns how many got it.
func (r *Room) say(text string) *async.Future[int] {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(text))
	if err != nil {
		return async.Failed[int](err)
	}
	r.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(r.members))
	for c := range r.members {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	return websocket.Broadcast(pm, conns)
}

// Len returns the number of members.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// member is one connection's handler.
type member struct {
	room *Room
	name string
}

func (m *member) OnOpen(c *websocket.Conn) {
	m.room.mu.Lock()
	m.room.members[c] = m.name
	m.room.mu.Unlock()
	m.room.say(m.name + " joined")
}

func (m *member) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	if mt != websocket.TextMessage {
		_ = c.Close(websocket.CloseUnsupportedData, "text only")
		return
	}
	m.room.say(m.name + ": " + string(data))
}

func (m *member) OnClose(c *websocket.Conn, err error) {
	m.room.mu.Lock()
	delete(m.room.members, c)
	m.room.mu.Unlock()
	m.room.say(m.name + " left")
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	flag.Parse()
	g, err := ioloop.New(ioloop.Options{})
	if err != nil {
		log.Fatal(err)
	}
	room := NewRoom()
	srv := &http1.Server{Handler: room}
	ln, err := srv.Listen(g, "tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("chat on ws://%s/chat?name=you\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = g.Close()
}
