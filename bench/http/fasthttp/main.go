// Command fasthttp is the fasthttp HTTP plaintext peer for the ioloop
// benchmarks.
//
// A fasthttp.Server whose handler answers GET /plaintext with 200,
// text/plain and "Hello, World!" (fasthttp adds Server, Date and
// Content-Length itself), and any other path with 404. fasthttp runs a
// goroutine per connection on Go's netpoller; -loops sets GOMAXPROCS.
//
// Usage:
//
//	fasthttp -addr 127.0.0.1:8080 -loops 1
//
// The line "http listening on ADDR" is printed on standard output once the
// listening socket exists; the server runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/valyala/fasthttp"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
)

var body = []byte(plaintext.Body)

func handler(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) != "/plaintext" {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	ctx.SetContentType("text/plain")
	ctx.SetBody(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	loops := flag.Int("loops", 0, "GOMAXPROCS (0: runtime default)")
	flag.Parse()
	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fasthttp:", err)
		os.Exit(1)
	}
	fmt.Printf("http listening on %s\n", ln.Addr())
	srv := &fasthttp.Server{Handler: handler, Name: "fasthttp"}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "fasthttp:", err)
		os.Exit(1)
	}
}
