// Command fasthttp is the fasthttp HTTP plaintext peer for the ioloop
// benchmarks.
//
// A fasthttp.Server whose handler answers GET /plaintext with 200,
// text/plain and "Hello, World!" (fasthttp adds Server, Date and
// Content-Length itself), and any other path with 404. fasthttp runs a
// goroutine per connection on Go's netpoller; -loops sets GOMAXPROCS.
//
// With -cert and -key it serves HTTPS instead (Server.ServeTLS, whose
// crypto/tls config is limited to TLS 1.3) and also answers GET / the
// same way, for the HTTPS benchmark.
//
// Usage:
//
//	fasthttp -addr 127.0.0.1:8080 -loops 1
//	fasthttp -addr 127.0.0.1:8443 -loops 1 -cert cert.pem -key key.pem
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
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/valyala/fasthttp"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
	"github.com/ioloop/ioloop/bench/internal/tlscert"
)

var body = []byte(plaintext.Body)

// root is true when GET / is answered too (HTTPS).
var root bool

func handler(ctx *fasthttp.RequestCtx) {
	if p := string(ctx.Path()); p != "/plaintext" && (!root || p != "/") {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	ctx.SetContentType("text/plain")
	ctx.SetBody(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	loops := flag.Int("loops", 0, "GOMAXPROCS (0: runtime default)")
	var files tlscert.Files
	files.AddFlags(flag.CommandLine)
	flag.Parse()
	useTLS, err := files.Enabled()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fasthttp:", err)
		os.Exit(2)
	}
	root = useTLS
	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fasthttp:", err)
		os.Exit(1)
	}
	srv := &fasthttp.Server{Handler: handler, Name: "fasthttp"}
	scheme := "http"
	if root {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS13}
		if err := srv.AppendCert(files.Cert, files.Key); err != nil {
			fmt.Fprintln(os.Stderr, "fasthttp:", err)
			os.Exit(1)
		}
		scheme = "https"
	}
	fmt.Printf("%s listening on %s\n", scheme, ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if root {
		err = srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig already
	} else {
		err = srv.Serve(ln)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fasthttp:", err)
		os.Exit(1)
	}
}
