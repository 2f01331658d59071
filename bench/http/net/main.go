// Command net is the Go standard library HTTP plaintext peer for the
// ioloop benchmarks.
//
// An http.Server with an http.ServeMux that maps /plaintext to a handler
// setting Server and Content-Type and writing "Hello, World!" (net/http
// adds Date and Content-Length itself); other paths get the mux's 404.
// net/http runs a goroutine per connection on Go's netpoller; -loops sets
// GOMAXPROCS.
//
// Usage:
//
//	net -addr 127.0.0.1:8080 -loops 1
//
// The line "http listening on ADDR" is printed on standard output once the
// listening socket exists; the server runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
)

var (
	body        = []byte(plaintext.Body)
	serverHdr   = []string{"net/http"}
	textHdr     = []string{"text/plain"}
	bodyLenHdrs = []string{"13"}
)

func plain(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Server"] = serverHdr
	h["Content-Type"] = textHdr
	h["Content-Length"] = bodyLenHdrs
	_, _ = w.Write(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	loops := flag.Int("loops", 0, "GOMAXPROCS (0: runtime default)")
	flag.Parse()
	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	if len(body) != 13 {
		panic("net: Content-Length header out of date")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", plain)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "net:", err)
		os.Exit(1)
	}
	fmt.Printf("http listening on %s\n", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if err := (&http.Server{Handler: mux}).Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "net:", err)
		os.Exit(1)
	}
}
