package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// echoHandler writes back every byte it reads.
type echoHandler struct{ ioloop.BaseHandler }

func (echoHandler) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	_, _ = c.Write(b)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var echo listFlag
	fs.Var(&echo, "echo", "serve TCP echo on `ADDR` (repeatable)")
	var web listFlag
	fs.Var(&web, "http", "serve HTTP/1.1 (/plaintext, /json, /echo, and /ws: WebSocket echo) on `ADDR` (repeatable)")
	var secure listFlag
	fs.Var(&secure, "https", "serve --http's routes over TLS (HTTPS, and wss:// on /ws) on `ADDR` (repeatable)")
	certFile := fs.String("tls-cert", "", "certificate chain `FILE` (PEM) for --https; with --tls-key (default: an ephemeral self-signed certificate for localhost, 127.0.0.1 and ::1)")
	keyFile := fs.String("tls-key", "", "private key `FILE` (PEM) for --https; with --tls-cert")
	adapter := fs.Bool("adapter", false, "serve --http and --https with net/http handlers through the net/http adapter (same routes)")
	loops := fs.Int("loops", 0, "number of event loops (default GOMAXPROCS)")
	uring := fs.Bool("io-uring", false, "batch socket reads and writes through io_uring (Linux; plain calls where unavailable)")
	grace := fs.Duration("grace", 5*time.Second, "how long a graceful shutdown may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if len(echo) == 0 && len(web) == 0 && len(secure) == 0 {
		return errors.New("serve: nothing to serve: give --echo ADDR, --http ADDR or --https ADDR")
	}
	if len(secure) == 0 && (*certFile != "" || *keyFile != "") {
		return errors.New("serve: --tls-cert and --tls-key need --https ADDR")
	}
	var tlsConfig *tls.Config
	var certAbout string
	if len(secure) > 0 {
		cert, about, err := serverCert(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		certAbout = about
	}
	// Catch the signals before announcing anything: whoever reads the
	// "listening" lines may signal at once.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	g, err := ioloop.New(ioloop.Options{Loops: *loops, IOUring: *uring})
	if err != nil {
		return err
	}
	if *uring && !g.IOUring() {
		fmt.Fprintln(os.Stderr, "serve: io_uring unavailable here: plain reads and writes")
	}
	for _, addr := range echo {
		ln, err := g.Listen("tcp", addr, echoHandler{})
		if err != nil {
			g.Close()
			return err
		}
		fmt.Printf("echo listening on %s\n", ln.Addr())
	}
	// One route table for --http and --https; a server each, since
	// Server.TLSConfig applies to all of a server's listeners.
	var routes http1.Handler = newWSRoute(httpHandler{})
	if *adapter {
		routes = newWSRoute(http1.Adapt(stdHandler())) // /ws is upgraded natively
	}
	hs := &http1.Server{Handler: routes}
	for _, addr := range web {
		ln, err := hs.Listen(g, "tcp", addr)
		if err != nil {
			g.Close()
			return err
		}
		fmt.Printf("http listening on %s\n", ln.Addr())
	}
	if len(secure) > 0 {
		fmt.Printf("https certificate: %s\n", certAbout)
	}
	hss := &http1.Server{Handler: routes, TLSConfig: tlsConfig}
	for _, addr := range secure {
		ln, err := hss.Listen(g, "tcp", addr)
		if err != nil {
			g.Close()
			return err
		}
		fmt.Printf("https listening on %s\n", ln.Addr())
	}
	<-sig
	signal.Stop(sig)
	ctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ioloop: shutdown: %v (remaining connections closed)\n", err)
	}
	return nil
}
