// Command idleconns opens many idle TCP connections to one address and
// holds them, so that a harness can measure a server's memory per idle
// connection.
//
// It raises its own RLIMIT_NOFILE soft limit (up to the hard limit), dials
// -n connections with at most -parallel dials at a time, each bounded by a
// 5 s timeout, and never sends a byte (with -http-get PATH, each connection
// first sends one HTTP/1.1 keep-alive GET PATH and reads the whole response,
// which must have status 200 and a Content-Length, and then stays idle on
// the open keep-alive connection). When all are up it prints
// "idle: N connections established" on standard output; it then holds
// them until SIGINT/SIGTERM or until -hold has passed (0: until a signal),
// and closes them with a reset (SO_LINGER 0) so no TIME_WAIT is left
// behind. It exits 1 if any dial failed.
//
// With -tls-ca FILE every connection first does a full TLS 1.3 handshake
// (X25519, no session cache, the server's certificate verified for
// 127.0.0.1 against FILE), and -http-get then goes over TLS: the
// connections stay open and idle past their first request.
//
// Usage:
//
//	idleconns -addr 127.0.0.1:7000 -n 10000 -hold 0
//	idleconns -addr 127.0.0.1:8080 -n 10000 -http-get /plaintext
//	idleconns -addr 127.0.0.1:8443 -n 10000 -tls-ca cert.pem -http-get /
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/bench/internal/tlscert"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "server address (host:port)")
	n := flag.Int("n", 10000, "number of connections")
	parallel := flag.Int("parallel", 64, "dials in flight at once")
	hold := flag.Duration("hold", 0, "how long to hold the connections (0: until a signal)")
	httpGet := flag.String("http-get", "", "if set, each connection first sends one keep-alive `GET PATH` and reads the response")
	tlsCA := flag.String("tls-ca", "", "if set, each connection first does a TLS 1.3 handshake, verifying the server against this PEM certificate")
	flag.Parse()
	if *n < 1 || *parallel < 1 {
		fmt.Fprintln(os.Stderr, "idleconns: -n and -parallel must be >= 1")
		os.Exit(2)
	}
	var tlsCfg *tls.Config
	if *tlsCA != "" {
		pool, err := tlscert.Pool(*tlsCA)
		if err != nil {
			fmt.Fprintln(os.Stderr, "idleconns:", err)
			os.Exit(2)
		}
		tlsCfg = tlscert.ClientConfig(pool)
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
	tlsConns := make([]*tls.Conn, *n) // held with their TCP connections
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
			if tlsCfg != nil {
				tc, err := handshake(c, tlsCfg)
				if err != nil {
					mu.Lock()
					failed++
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				tlsConns[i] = tc
				c = tc
			}
			if *httpGet != "" {
				if err := getOnce(c, *addr, *httpGet); err != nil {
					mu.Lock()
					failed++
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
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

// handshake runs a TLS 1.3 client handshake on c within 5 s.
func handshake(c net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	if v := tc.ConnectionState().Version; v != tls.VersionTLS13 {
		return nil, fmt.Errorf("TLS version %#x, want TLS 1.3", v)
	}
	return tc, nil
}

// getOnce sends one keep-alive "GET path" on c and reads the complete
// response (status line, headers, Content-Length bytes of body) within 5 s;
// the status must be 200 and nothing may follow the body. The connection
// is left open and idle.
func getOnce(c net.Conn, host, path string) error {
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	defer c.SetDeadline(time.Time{})
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: keep-alive\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	// A reader of exactly the buffered size: the response is small, and
	// reading past it would hide bytes the server should not have sent.
	return readResponse(bufio.NewReaderSize(c, 4096))
}

// readResponse reads one HTTP/1.1 response framed by Content-Length from
// r and checks its status is 200 and that r holds nothing after it.
func readResponse(r *bufio.Reader) error {
	tp := textproto.NewReader(r)
	line, err := tp.ReadLine()
	if err != nil {
		return fmt.Errorf("reading the status line: %w", err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 200 ") && line != "HTTP/1.1 200" {
		return fmt.Errorf("status line %q, want HTTP/1.1 200", line)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return fmt.Errorf("reading the headers: %w", err)
	}
	cl := h.Values("Content-Length")
	if len(cl) != 1 {
		return errors.New("response without exactly one Content-Length")
	}
	n, err := strconv.ParseInt(cl[0], 10, 64)
	if err != nil || n < 0 || n > 1<<20 {
		return fmt.Errorf("bad Content-Length %q", cl[0])
	}
	if _, err := io.CopyN(io.Discard, r, n); err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if r.Buffered() > 0 {
		return fmt.Errorf("%d unexpected bytes after the response", r.Buffered())
	}
	return nil
}
