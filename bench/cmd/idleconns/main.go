// Command idleconns opens many idle TCP connections to one address and
// holds them, so that a harness can measure a server's memory per idle
// connection.
//
// It raises its own RLIMIT_NOFILE soft limit (up to the hard limit), dials
// -n connections with at most -parallel dials at a time, each bounded by a
// 5 s timeout, and never sends a byte. When all are up it prints
// "idle: N connections established" on standard output; it then holds
// them until SIGINT/SIGTERM or until -hold has passed (0: until a signal),
// and closes them with a reset (SO_LINGER 0) so no TIME_WAIT is left
// behind. It exits 1 if any dial failed.
//
// Usage:
//
//	idleconns -addr 127.0.0.1:7000 -n 10000 -hold 0
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "server address (host:port)")
	n := flag.Int("n", 10000, "number of connections")
	parallel := flag.Int("parallel", 64, "dials in flight at once")
	hold := flag.Duration("hold", 0, "how long to hold the connections (0: until a signal)")
	flag.Parse()
	if *n < 1 || *parallel < 1 {
		fmt.Fprintln(os.Stderr, "idleconns: -n and -parallel must be >= 1")
		os.Exit(2)
	}

	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err == nil {
		want := uint64(*n) + 64
		if r.Cur < want {
			r.Cur = min(want, r.Max)
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
				fmt.Fprintln(os.Stderr, "idleconns: setrlimit:", err)
			}
		}
		if r.Cur < want {
			fmt.Fprintf(os.Stderr, "idleconns: RLIMIT_NOFILE %d is below the %d needed\n", r.Cur, want)
			os.Exit(1)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)

	conns := make([]*net.TCPConn, *n)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		first  error
	)
	sem := make(chan struct{}, *parallel)
	t0 := time.Now()
	for i := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
			if err != nil {
				mu.Lock()
				failed++
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			conns[i] = c.(*net.TCPConn)
		}(i)
	}
	wg.Wait()
	closeAll := func() {
		for _, c := range conns {
			if c != nil {
				_ = c.SetLinger(0)
				_ = c.Close()
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "idleconns: %d of %d dials failed, first: %v\n", failed, *n, first)
		closeAll()
		os.Exit(1)
	}
	fmt.Printf("idle: %d connections established in %.2fs\n", *n, time.Since(t0).Seconds())

	var timeout <-chan time.Time
	if *hold > 0 {
		timeout = time.After(*hold)
	}
	select {
	case <-sig:
	case <-timeout:
	}
	closeAll()
}
