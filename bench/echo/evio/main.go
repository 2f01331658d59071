// Command evio is the evio TCP echo peer for the ioloop benchmarks.
//
// It follows evio's own echo example: a Data event that returns its input
// as output (evio copies it into the connection's outbound buffer). The
// number of loops is set with -loops; evio reads into one 64 KiB buffer per
// loop.
//
// Usage:
//
//	evio -addr 127.0.0.1:7000 -loops 1
//
// The line "echo listening on ADDR" is printed on standard output from the
// Serving event, which fires once the server can accept; the server runs
// until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tidwall/evio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address (host:port)")
	loops := flag.Int("loops", 1, "number of event loops")
	flag.Parse()

	var events evio.Events
	events.NumLoops = *loops
	events.LoadBalance = evio.RoundRobin
	events.Serving = func(evio.Server) evio.Action {
		fmt.Printf("echo listening on %s\n", *addr)
		return evio.None
	}
	events.Data = func(c evio.Conn, in []byte) ([]byte, evio.Action) {
		return in, evio.None
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if err := evio.Serve(events, "tcp://"+*addr); err != nil {
		fmt.Fprintln(os.Stderr, "evio echo:", err)
		os.Exit(1)
	}
}
