// Command net is the Go standard library HTTP plaintext peer for the
// ioloop benchmarks.
//
// An http.Server with an http.ServeMux that maps /plaintext to a handler
// setting Server and Content-Type and writing "Hello, World!" (net/http
// adds Date and Content-Length itself); other paths get the mux's 404.
// net/http runs a goroutine per connection on Go's netpoller; -loops sets
// GOMAXPROCS.
//
// With -cert and -key it serves HTTPS instead (crypto/tls, TLS 1.3 only,
// HTTP/1.1 only: no HTTP/2 over ALPN) and also answers GET / the same
// way, for the HTTPS benchmark.
//
// Usage:
//
//	net -addr 127.0.0.1:8080 -loops 1
//	net -addr 127.0.0.1:8443 -loops 1 -cert cert.pem -key key.pem
//
// The line "http listening on ADDR" ("https listening on ADDR" with TLS)
// is printed on standard output once the listening socket exists; the
// server runs until SIGINT or SIGTERM.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
	"github.com/ioloop/ioloop/bench/internal/tlscert"
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
	var files tlscert.Files
	files.AddFlags(flag.CommandLine)
	flag.Parse()
	useTLS, err := files.Enabled()
	if err != nil {
		fmt.Fprintln(os.Stderr, "net:", err)
		os.Exit(2)
	}
	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	if len(body) != 13 {
		panic("net: Content-Length header out of date")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", plain)
	srv := &http.Server{Handler: mux}
	scheme := "http"
	if useTLS {
		mux.HandleFunc("GET /{$}", plain)
		cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "net:", err)
			os.Exit(1)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
		// A non-nil empty map turns HTTP/2 off: every peer speaks HTTP/1.1.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "net:", err)
		os.Exit(1)
	}
	fmt.Printf("%s listening on %s\n", scheme, ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if useTLS {
		err = srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig already
	} else {
		err = srv.Serve(ln)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "net:", err)
		os.Exit(1)
	}
}
