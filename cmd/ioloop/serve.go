package main

import (
	"context"
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
	adapter := fs.Bool("adapter", false, "serve --http with net/http handlers through the net/http adapter (same routes)")
	loops := fs.Int("loops", 0, "number of event loops (default GOMAXPROCS)")
	uring := fs.Bool("io-uring", false, "batch socket reads and writes through io_uring (Linux; plain calls where unavailable)")
	grace := fs.Duration("grace", 5*time.Second, "how long a graceful shutdown may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if len(echo) == 0 && len(web) == 0 {
		return errors.New("serve: nothing to serve: give --echo ADDR or --http ADDR")
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
	hs := &http1.Server{Handler: newWSRoute(httpHandler{})}
	if *adapter {
		hs.Handler = newWSRoute(http1.Adapt(stdHandler())) // /ws is upgraded natively
	}
	for _, addr := range web {
		ln, err := hs.Listen(g, "tcp", addr)
		if err != nil {
			g.Close()
			return err
		}
		fmt.Printf("http listening on %s\n", ln.Addr())
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
