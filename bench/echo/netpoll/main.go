// Command netpoll is the cloudwego/netpoll TCP echo peer for the ioloop
// benchmarks.
//
// It follows netpoll's own echo example: an OnRequest handler that takes the
// readable bytes from the connection's zero-copy Reader with Next, hands
// them to the Writer with WriteBinary, flushes, and then releases the read
// buffer. As netpoll intends, handlers run on its goroutine pool, not on
// the poller. The number of pollers is set with -loops (netpoll's own
// default is GOMAXPROCS/20+1, i.e. 1 here).
//
// Usage:
//
//	netpoll -addr 127.0.0.1:7000 -loops 1
//
// The line "echo listening on ADDR" is printed on standard output once the
// listening socket exists; the server runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudwego/netpoll"
)

func echo(_ context.Context, c netpoll.Connection) error {
	r, w := c.Reader(), c.Writer()
	n := r.Len()
	if n == 0 {
		return nil
	}
	buf, err := r.Next(n)
	if err != nil {
		return err
	}
	if _, err := w.WriteBinary(buf); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return r.Release()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address (host:port)")
	loops := flag.Int("loops", 1, "number of pollers")
	flag.Parse()

	if err := netpoll.Configure(netpoll.Config{PollerNum: *loops, LoggerOutput: io.Discard}); err != nil {
		fmt.Fprintln(os.Stderr, "netpoll echo:", err)
		os.Exit(1)
	}
	ln, err := netpoll.CreateListener("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netpoll echo:", err)
		os.Exit(1)
	}
	loop, err := netpoll.NewEventLoop(echo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netpoll echo:", err)
		os.Exit(1)
	}
	fmt.Printf("echo listening on %s\n", *addr)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if err := loop.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "netpoll echo:", err)
		os.Exit(1)
	}
}
