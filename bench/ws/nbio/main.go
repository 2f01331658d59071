// Command nbio is the nbio peer of the WebSocket-over-TLS benchmark:
// nbio's HTTP engine with its own TLS (nbio's fork of crypto/tls, on the
// engine's pollers) and its WebSocket upgrader, echoing every message with
// its opcode at /ws. It binds -addr (127.0.0.1 only) with -loops pollers and
// prints "wss listening on ADDR" once it accepts. Engine defaults otherwise,
// as nbio's examples use them.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9443", "listen `address` (127.0.0.1 only)")
	certFile := flag.String("cert", "", "PEM certificate `file`")
	keyFile := flag.String("key", "", "PEM key `file`")
	loops := flag.Int("loops", 1, "pollers")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		log.Fatalf("nbio: -addr must be 127.0.0.1:PORT, got %q", *addr)
	}
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("nbio: %v", err)
	}
	logging.SetLevel(logging.LevelError)
	up := nbws.NewUpgrader()
	up.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		_, _ = up.Upgrade(w, r, nil)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:   "tcp",
		AddrsTLS:  []string{*addr},
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}},
		Handler:   mux,
		NPoller:   *loops,
	})
	if err := engine.Start(); err != nil {
		log.Fatalf("nbio: %v", err)
	}
	fmt.Printf("wss listening on %s\n", *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	engine.Stop()
}
