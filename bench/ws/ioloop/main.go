// Command ioloop is the project's own WSS echo for the WebSocket-over-TLS
// benchmark, built on the library directly until `ioloop serve --https`
// serves /ws: an http1.Server with TLSConfig (the standard crypto/tls on
// the loop, Group.ListenTLS) on -loops loops, and a websocket.Upgrader at
// /ws whose handler sends every message back with its opcode (as
// cmd/ioloop's /ws does). It binds -addr (127.0.0.1 only) and prints
// "wss listening on ADDR" once it accepts. -cpuprofile writes a CPU profile
// until SIGTERM or SIGINT.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// echo sends every message back as it came.
type echo struct{}

func (echo) OnOpen(*websocket.Conn) {}
func (echo) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	_ = c.Send(mt, data)
}
func (echo) OnClose(*websocket.Conn, error) {}

func main() {
	addr := flag.String("addr", "127.0.0.1:9443", "listen `address` (127.0.0.1 only)")
	certFile := flag.String("cert", "", "PEM certificate `file`")
	keyFile := flag.String("key", "", "PEM key `file`")
	loops := flag.Int("loops", 1, "event loops")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `file` until SIGTERM")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatalf("ioloop: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatalf("ioloop: %v", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		log.Fatalf("ioloop: -addr must be 127.0.0.1:PORT, got %q", *addr)
	}
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("ioloop: %v", err)
	}
	g, err := ioloop.New(ioloop.Options{Loops: *loops})
	if err != nil {
		log.Fatalf("ioloop: %v", err)
	}
	up := &websocket.Upgrader{CheckOrigin: func(*http1.Request, string) bool { return true }}
	srv := &http1.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}},
		Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
			if string(r.Path()) == "/ws" {
				_, _ = up.Upgrade(w, r, echo{})
				return
			}
			_ = w.SetStatus(404)
			_ = w.End()
		}),
	}
	if _, err := srv.Listen(g, "tcp", *addr); err != nil {
		log.Fatalf("ioloop: %v", err)
	}
	fmt.Printf("wss listening on %s\n", *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	g.Close()
}
