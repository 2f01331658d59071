package wsinterop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	ws "github.com/ioloop/ioloop/websocket"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
)

// The servers of the separate-process benchmarks. Each runs in a child
// process (see child_test.go), serves WebSocket on ws://127.0.0.1:PORT/ws,
// echoes every data message, keeps its open connections in a registry, and
// sends one message to all of them on request:
//
//   - ioloop: http1.Server + websocket.Upgrader on one Group (its default
//     of GOMAXPROCS loops, 1 in a child pinned to one CPU); broadcast with
//     NewPreparedMessage + Broadcast (one encoding, one task per loop).
//   - gorilla: net/http + gorilla's default Upgrader (it reuses the 4 KiB
//     bufio buffers net/http hijacks). In echo mode the handler goroutine
//     reads and echoes: one goroutine per connection, gorilla's cheapest
//     shape. In broadcast mode it is the usual hub: the handler goroutine
//     reads, a writer goroutine per connection drains a channel of
//     *PreparedMessage (16 deep, a full one drops the message) with
//     WritePreparedMessage, and a broadcast is one NewPreparedMessage and
//     one channel send per connection. No write deadlines (they would cost
//     gorilla a timer per write).
//   - nbio: nbhttp.Engine (NPoller = GOMAXPROCS) + nbio's Upgrader, echo in
//     OnMessage; broadcast is WriteMessage on every connection from one
//     goroutine. nbio has no prepared message: each WriteMessage frames the
//     64 bytes into a pooled buffer and writes it at once.
//
// All three keep the same registry (a slice under a mutex, swap-remove), so
// that the bookkeeping a broadcast walks costs the same everywhere.

// registry holds the open connections of a server.
type registry[T any] struct {
	mu    sync.Mutex
	items []T
	slots []*int // slots[i] points at the index of items[i], kept by its member
}

// add registers v and returns its slot, for remove.
func (r *registry[T]) add(v T) *int {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.items)
	slot := &i
	r.items = append(r.items, v)
	r.slots = append(r.slots, slot)
	return slot
}

// remove drops the member whose slot is given.
func (r *registry[T]) remove(slot *int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, last := *slot, len(r.items)-1
	if i < 0 || i > last || r.slots[i] != slot {
		return
	}
	r.items[i], r.slots[i] = r.items[last], r.slots[last]
	*r.slots[i] = i
	var zero T
	r.items[last], r.slots[last] = zero, nil
	r.items, r.slots = r.items[:last], r.slots[:last]
	*slot = -1
}

// len returns the number of members.
func (r *registry[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// wsServer is a server of a child process.
type wsServer interface {
	// url is ws://127.0.0.1:PORT/ws.
	url() string
	// count returns the connections open now.
	count() int
	// broadcast sends payload as one binary message to every open
	// connection and returns how many it was given to, once all are queued
	// or written.
	broadcast(payload []byte) (int, error)
}

// startServer starts the named server; mode "broadcast" gives gorilla its
// hub, "echo" its one goroutine per connection (the others ignore mode).
func startServer(name, mode string) (wsServer, error) {
	switch name {
	case "ioloop":
		return startIoloop()
	case "gorilla":
		return startGorilla(mode == "broadcast")
	case "nbio":
		return startNbio()
	}
	return nil, fmt.Errorf("wsinterop: unknown server %q", name)
}

// ioloopSrv is the ioloop server.
type ioloopSrv struct {
	u   string
	reg registry[*ws.Conn]
}

func (s *ioloopSrv) OnOpen(c *ws.Conn) { c.SetValue(s.reg.add(c)) }
func (s *ioloopSrv) OnMessage(c *ws.Conn, mt ws.MessageType, data []byte) {
	_ = c.Send(mt, data)
}
func (s *ioloopSrv) OnClose(c *ws.Conn, _ error) {
	if slot, ok := c.Value().(*int); ok {
		s.reg.remove(slot)
	}
}

func startIoloop() (*ioloopSrv, error) {
	// WSINTEROP_IOURING=1: the server batches through io_uring.
	g, err := ioloop.New(ioloop.Options{Logger: quietLogger(), IOUring: os.Getenv("WSINTEROP_IOURING") == "1"})
	if err != nil {
		return nil, err
	}
	s := &ioloopSrv{}
	up := &ws.Upgrader{CheckOrigin: func(*http1.Request, string) bool { return true }}
	hs := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		_, _ = up.Upgrade(w, r, s)
	})}
	ln, err := hs.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = g.Close()
		return nil, err
	}
	s.u = "ws://" + ln.Addr().String() + "/ws"
	return s, nil
}

func (s *ioloopSrv) url() string { return s.u }
func (s *ioloopSrv) count() int  { return s.reg.len() }
func (s *ioloopSrv) broadcast(payload []byte) (int, error) {
	pm, err := ws.NewPreparedMessage(ws.BinaryMessage, payload)
	if err != nil {
		return 0, err
	}
	s.reg.mu.Lock()
	f := ws.Broadcast(pm, s.reg.items) // reads the slice before it returns
	s.reg.mu.Unlock()
	return f.Await(context.Background())
}

// gorillaSrv is the gorilla server.
type gorillaSrv struct {
	u   string
	reg registry[*gorillaClient]
	hub bool
}

type gorillaClient struct {
	c    *websocket.Conn
	send chan *websocket.PreparedMessage
}

func startGorilla(hub bool) (*gorillaSrv, error) {
	s := &gorillaSrv{hub: hub}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		cl := &gorillaClient{c: c}
		if !s.hub {
			slot := s.reg.add(cl)
			defer s.reg.remove(slot)
			for {
				mt, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if err := c.WriteMessage(mt, data); err != nil {
					return
				}
			}
		}
		cl.send = make(chan *websocket.PreparedMessage, 16)
		slot := s.reg.add(cl)
		go func() {
			for pm := range cl.send {
				if err := c.WritePreparedMessage(pm); err != nil {
					_ = c.Close() // the reader ends and unregisters
				}
			}
		}()
		defer func() {
			// Unregistered first, so that no broadcast sends on it after
			// it is closed.
			s.reg.remove(slot)
			close(cl.send)
		}()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = hs.Serve(ln) }()
	s.u = "ws://" + ln.Addr().String() + "/ws"
	return s, nil
}

func (s *gorillaSrv) url() string { return s.u }
func (s *gorillaSrv) count() int  { return s.reg.len() }
func (s *gorillaSrv) broadcast(payload []byte) (int, error) {
	if !s.hub {
		return 0, errors.New("wsinterop: the gorilla echo server has no hub")
	}
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, payload)
	if err != nil {
		return 0, err
	}
	n := 0
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	for _, cl := range s.reg.items {
		select {
		case cl.send <- pm:
			n++
		default: // slow client: dropped, as the usual hub does
		}
	}
	return n, nil
}

// nbioSrv is the nbio server.
type nbioSrv struct {
	u   string
	reg registry[*nbws.Conn]
}

func startNbio() (*nbioSrv, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	logging.SetLevel(logging.LevelNone)
	s := &nbioSrv{}
	up := nbws.NewUpgrader()
	up.CheckOrigin = func(*http.Request) bool { return true }
	up.OnOpen(func(c *nbws.Conn) { c.SetSession(s.reg.add(c)) })
	up.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	up.OnClose(func(c *nbws.Conn, _ error) {
		if slot, ok := c.Session().(*int); ok {
			s.reg.remove(slot)
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		_, _ = up.Upgrade(w, r, nil)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		Listen:  func(string, string) (net.Listener, error) { return ln, nil },
		Handler: mux,
		NPoller: runtime.GOMAXPROCS(0),
	})
	if err := engine.Start(); err != nil {
		return nil, err
	}
	s.u = "ws://" + ln.Addr().String() + "/ws"
	return s, nil
}

func (s *nbioSrv) url() string { return s.u }
func (s *nbioSrv) count() int  { return s.reg.len() }
func (s *nbioSrv) broadcast(payload []byte) (int, error) {
	n := 0
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	for _, c := range s.reg.items {
		if c.WriteMessage(nbws.BinaryMessage, payload) == nil {
			n++
		}
	}
	return n, nil
}
