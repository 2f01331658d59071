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
// With -cert and -key it serves HTTPS instead, with nbio's own TLS support
// (Config.AddrsTLS: the non-blocking TLS of lesismal/llib's fork of
// crypto/tls, limited to TLS 1.3) and also answers GET / the same way,
// for the HTTPS benchmark.
//
// Usage:
//
//	nbio -addr 127.0.0.1:8080 -loops 1
//	nbio -addr 127.0.0.1:8443 -loops 1 -cert cert.pem -key key.pem
//
// The line "http listening on ADDR" ("https listening on ADDR" with TLS)
// is printed on standard output once Server.Start has returned; the server
// runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
	"github.com/ioloop/ioloop/bench/internal/tlscert"
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
	var files tlscert.Files
	files.AddFlags(flag.CommandLine)
	flag.Parse()
	useTLS, err := files.Enabled()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbio:", err)
		os.Exit(2)
	}
	logging.SetLevel(logging.LevelError)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", plain)
	conf := nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{*addr},
		NPoller: *loops,
		Handler: mux,
	}
	scheme := "http"
	if useTLS {
		cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nbio:", err)
			os.Exit(1)
		}
		mux.HandleFunc("GET /{$}", plain)
		conf.AddrsTLS, conf.Addrs = conf.Addrs, nil
		conf.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
		scheme = "https"
	}
	srv := nbhttp.NewServer(conf)
	if len(body) != 13 {
		panic("nbio: Content-Length header out of date")
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nbio http:", err)
		os.Exit(1)
	}
	fmt.Printf("%s listening on %s\n", scheme, *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Stop()
}
