// Command nbio is the nbio TCP echo peer for the ioloop benchmarks.
//
// It follows nbio's own echo example: an Engine with an OnData handler that
// writes the received bytes back with Conn.Write (nbio writes at once and
// copies only what the kernel does not take). The number of pollers is set
// with -loops; nbio reads into a 64 KiB buffer per poller (its default
// ReadBufferSize).
//
// Usage:
//
//	nbio -addr 127.0.0.1:7000 -loops 1
//
// The line "echo listening on ADDR" is printed on standard output once
// Engine.Start has returned; the server runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address (host:port)")
	loops := flag.Int("loops", 1, "number of pollers")
	flag.Parse()
	logging.SetLevel(logging.LevelError)

	engine := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{*addr},
		NPoller: *loops,
	})
	engine.OnData(func(c *nbio.Conn, data []byte) {
		if _, err := c.Write(data); err != nil {
			c.Close()
		}
	})
	if err := engine.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nbio echo:", err)
		os.Exit(1)
	}
	fmt.Printf("echo listening on %s\n", *addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	engine.Stop()
}
