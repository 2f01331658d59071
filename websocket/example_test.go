package websocket_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/internal/selfsigned"
	"github.com/ioloop/ioloop/websocket"
)

// A WebSocket echo server upgraded from an http1 handler, and a client that
// dials it through the same loops.
func Example() {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		panic(err)
	}
	defer g.Close()

	up := &websocket.Upgrader{}
	echo := websocket.HandlerFuncs{Message: func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		c.Send(mt, data) // data is lent: Send copies it into the frame
	}}
	srv := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		up.Upgrade(w, r, echo)
	})}
	ln, err := srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	got := make(chan string, 1)
	client := websocket.HandlerFuncs{
		Open:    func(c *websocket.Conn) { c.SendText("hello, websocket") },
		Message: func(c *websocket.Conn, mt websocket.MessageType, data []byte) { got <- string(data) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := &websocket.Dialer{}
	if _, err := d.Dial(g, "ws://"+ln.Addr().String()+"/", client).Await(ctx); err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	// Output: hello, websocket
}

// The same over TLS: the http1 server does HTTPS with its TLSConfig, and
// the client dials wss:// trusting the server's certificate (here a
// self-signed one made for the example).
func Example_wss() {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	cert, err := selfsigned.New("127.0.0.1")
	if err != nil {
		panic(err)
	}

	up := &websocket.Upgrader{}
	echo := websocket.HandlerFuncs{Message: func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		c.Send(mt, data)
	}}
	srv := &http1.Server{
		Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
			up.Upgrade(w, r, echo)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert.TLS}},
	}
	ln, err := srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	got := make(chan string, 1)
	client := websocket.HandlerFuncs{
		Open:    func(c *websocket.Conn) { c.SendText("hello, wss") },
		Message: func(c *websocket.Conn, mt websocket.MessageType, data []byte) { got <- string(data) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: cert.Pool}}
	c, err := d.Dial(g, "wss://"+ln.Addr().String()+"/", client).Await(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	c.Close(websocket.CloseNormal, "")
	// Output: hello, wss
}
