// Command gnet is the gnet v2 TCP echo peer for the ioloop benchmarks.
//
// It follows gnet's own echo example: an EventHandler that embeds
// gnet.BuiltinEventEngine and, in OnTraffic, takes every buffered inbound
// byte with Conn.Next(-1) and writes it back with Conn.Write (which copies
// into gnet's outbound buffer when the kernel does not take it all).
// Multicore is on and the number of event loops is set with -loops. gnet
// reads into one 64 KiB buffer per loop (its default ReadBufferCap).
//
// Usage:
//
//	gnet -addr 127.0.0.1:7000 -loops 1
//
// The line "echo listening on ADDR" is printed on standard output once the
// listening socket exists; the server runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

type echoServer struct {
	gnet.BuiltinEventEngine
	addr string
}

// OnBoot runs once the listener is bound, before the loops start; the
// kernel queues connections until they do.
func (s *echoServer) OnBoot(eng gnet.Engine) gnet.Action {
	fmt.Printf("echo listening on %s\n", s.addr)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	return gnet.None
}

// OnTraffic echoes everything that has arrived on c.
func (s *echoServer) OnTraffic(c gnet.Conn) gnet.Action {
	buf, err := c.Next(-1)
	if err != nil {
		return gnet.Close
	}
	if _, err := c.Write(buf); err != nil {
		return gnet.Close
	}
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address (host:port)")
	loops := flag.Int("loops", 1, "number of event loops")
	flag.Parse()
	s := &echoServer{addr: *addr}
	err := gnet.Run(s, "tcp://"+*addr,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(*loops),
		gnet.WithReuseAddr(true),
		gnet.WithLogLevel(logging.ErrorLevel),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet echo:", err)
		os.Exit(1)
	}
}
