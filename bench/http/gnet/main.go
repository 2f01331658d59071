// Command gnet is the gnet v2 HTTP plaintext peer for the ioloop
// benchmarks.
//
// Like gnet's own HTTP benchmark it has no HTTP parser: in OnTraffic it
// counts the complete request heads ("\r\n\r\n") buffered on the
// connection, appends one fixed "200 OK" plaintext response per head
// (Server, Date refreshed every second, Content-Type, Content-Length) and
// writes them with one Conn.Write, so pipelined requests are answered in
// order and together. An incomplete head stays in gnet's inbound buffer
// until more bytes arrive. It answers any request head the same way; the
// harness checks it with the benchmark's GET /plaintext only.
//
// Usage:
//
//	gnet -addr 127.0.0.1:8080 -loops 1
//
// The line "http listening on ADDR" is printed on standard output once the
// listening socket exists; the server runs until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/ioloop/ioloop/bench/internal/plaintext"
)

type httpServer struct {
	gnet.BuiltinEventEngine
	addr string
	resp *plaintext.Response
	// out holds per-call output buffers: OnTraffic runs on several loop
	// goroutines at once when -loops > 1.
	out sync.Pool
}

// OnBoot runs once the listener is bound, before the loops start; the
// kernel queues connections until they do.
func (s *httpServer) OnBoot(eng gnet.Engine) gnet.Action {
	fmt.Printf("http listening on %s\n", s.addr)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	return gnet.None
}

// OnTraffic answers every complete request head buffered on c.
func (s *httpServer) OnTraffic(c gnet.Conn) gnet.Action {
	buf, err := c.Peek(-1)
	if err != nil {
		return gnet.Close
	}
	n, consumed := plaintext.Scan(buf)
	if n == 0 {
		if len(buf) > 64<<10 {
			return gnet.Close // a head this long is not the benchmark's
		}
		return gnet.None
	}
	if _, err := c.Discard(consumed); err != nil {
		return gnet.Close
	}
	resp := s.resp.Bytes()
	if n == 1 {
		if _, err := c.Write(resp); err != nil {
			return gnet.Close
		}
		return gnet.None
	}
	bp := s.out.Get().(*[]byte)
	b := (*bp)[:0]
	for range n {
		b = append(b, resp...)
	}
	_, err = c.Write(b)
	*bp = b
	s.out.Put(bp)
	if err != nil {
		return gnet.Close
	}
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	loops := flag.Int("loops", 1, "number of event loops")
	flag.Parse()
	s := &httpServer{addr: *addr, resp: plaintext.NewResponse("gnet")}
	s.out.New = func() any { b := make([]byte, 0, 4096); return &b }
	err := gnet.Run(s, "tcp://"+*addr,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(*loops),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogLevel(logging.ErrorLevel),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet http:", err)
		os.Exit(1)
	}
}
