// Command net is the Go standard library TCP echo peer for the ioloop
// benchmarks: one goroutine per connection, as the net package intends.
//
// Each connection's goroutine reads into its own buffer and writes back
// what it read. The buffer is 16 KiB by default (-buf): bigger than any
// message in the echo workloads, the size of a TLS record, and the common
// choice for a per-connection read buffer in Go servers; io.Copy would use
// 32 KiB. The runtime's netpoller is the event loop; -loops sets GOMAXPROCS
// (0 leaves the runtime's default).
//
// Usage:
//
//	net -addr 127.0.0.1:7000 -loops 1
//
// The line "echo listening on ADDR" is printed on standard output once the
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
	"time"
)

func serve(c net.Conn, size int) {
	defer c.Close()
	buf := make([]byte, size)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address (host:port)")
	loops := flag.Int("loops", 0, "GOMAXPROCS (0: runtime default)")
	size := flag.Int("buf", 16<<10, "per-connection read buffer in bytes")
	flag.Parse()
	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "net echo:", err)
		os.Exit(1)
	}
	fmt.Printf("echo listening on %s\n", *addr)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			// EMFILE and friends: keep serving the connections we have
			// and retry after a pause instead of spinning.
			fmt.Fprintln(os.Stderr, "net echo: accept:", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c, *size)
	}
}
