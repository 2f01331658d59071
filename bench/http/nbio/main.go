// Command nbio is the nbio (nbhttp) HTTP plaintext peer for the ioloop
// benchmarks.
//
// An nbhttp.Server with nbio's defaults (non-blocking I/O on -loops
// pollers, handlers on nbhttp's default executor) and an http.ServeMux
// mapping /plaintext to a handler setting Server, Content-Type and
// Content-Length (nbhttp would otherwise send the body chunked) and
// writing "Hello, World!" (nbhttp adds Date itself); other paths get the
// mux's 404.
//
// Usage:
//
//	nbio -addr 127.0.0.1:8080 -loops 1
//
// The line "http listening on ADDR" is printed on standard output once
// Server.Start has returned; the server runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
)

var (
	body      = []byte(plaintext.Body)
	serverHdr = []string{"nbio"}
	textHdr   = []string{"text/plain"}
	lenHdr    = []string{"13"}
)

func plain(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Server"] = serverHdr
	h["Content-Type"] = textHdr
	// Without it nbhttp answers with chunked encoding.
	h["Content-Length"] = lenHdr
	_, _ = w.Write(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	loops := flag.Int("loops", 1, "number of pollers")
	flag.Parse()
	logging.SetLevel(logging.LevelError)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", plain)
	srv := nbhttp.NewServer(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{*addr},
		NPoller: *loops,
		Handler: mux,
	})
	if len(body) != 13 {
		panic("nbio: Content-Length header out of date")
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nbio http:", err)
		os.Exit(1)
	}
	fmt.Printf("http listening on %s\n", *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Stop()
}
