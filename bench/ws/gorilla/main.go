// Command gorilla is the WSS echo peer of the WebSocket-over-TLS benchmark:
// gorilla/websocket on Go's net/http server with crypto/tls. It serves a
// WebSocket echo at /ws (every message goes back whole with its opcode,
// text or binary), binds -addr (127.0.0.1 only), and prints
// "wss listening on ADDR" once it accepts. It is the smallest correct echo
// that gorilla's own examples suggest: a goroutine per connection looping
// on ReadMessage and WriteMessage. -loops sets GOMAXPROCS, as the other
// peers get the same number of loops as ioloop.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/gorilla/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9443", "listen `address` (127.0.0.1 only)")
	certFile := flag.String("cert", "", "PEM certificate `file`")
	keyFile := flag.String("key", "", "PEM key `file`")
	loops := flag.Int("loops", 0, "GOMAXPROCS (0: leave the default)")
	flag.Parse()
	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		log.Fatalf("gorilla: -addr must be 127.0.0.1:PORT, got %q", *addr)
	}
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("gorilla: %v", err)
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the request with an error
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("gorilla: %v", err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		_ = srv.Close()
	}()
	fmt.Printf("wss listening on %s\n", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		log.Fatalf("gorilla: %v", err)
	}
}
