// Command handshakes is the load generator of the HTTPS benchmark's
// full-handshake workload: every request goes on a new TLS 1.3 connection
// with a full handshake, never a resumed one.
//
// -conns goroutines each loop until -duration has passed: dial -addr, do
// a TLS 1.3 handshake (no session cache, so no ticket is ever offered;
// X25519 only, as OpenSSL 3.0 and older Go stacks offer, so that every
// server does the same key exchange; the certificate verified against -ca
// for 127.0.0.1), check that the handshake was not resumed, send one
// `GET -path` with `Connection: close`, read the whole response (status
// 200, Content-Length framed, body -body when given) and close the
// connection with a reset (SO_LINGER 0: no TIME_WAIT is left behind,
// whichever side closed first). A loop that fails counts an error and
// goes on; every dial, handshake and read is bounded by a 5 s deadline.
//
// For the harness it behaves like bench/http/pipeline.lua under wrk: it
// writes "window-start" on standard error before the first connection and
// "window-end" after the last loop has stopped, then one JSON line on
// standard output with the keys of pipeline.lua (requests, duration_us,
// connect_errors, read_errors, write_errors, status_errors, timeouts,
// depth, lat_mean_us, lat_p50_us, lat_p90_us, lat_p99_us, lat_max_us) plus
// resumed (handshakes the server resumed: must be 0), tls_errors and
// cipher (the suite of the last handshake). A request is one handshake and
// one response; its latency runs from the dial to the end of the response.
//
// Usage:
//
//	handshakes -addr 127.0.0.1:8443 -ca cert.pem -conns 64 -duration 5s
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ioloop/ioloop/bench/internal/tlscert"
)

// result is the JSON line printed at the end.
type result struct {
	Requests      int     `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	ConnectErrors int     `json:"connect_errors"`
	ReadErrors    int     `json:"read_errors"`
	WriteErrors   int     `json:"write_errors"`
	StatusErrors  int     `json:"status_errors"`
	Timeouts      int     `json:"timeouts"`
	TLSErrors     int     `json:"tls_errors"`
	Resumed       int     `json:"resumed"`
	Depth         int     `json:"depth"`
	Mean          float64 `json:"lat_mean_us"`
	P50           int64   `json:"lat_p50_us"`
	P90           int64   `json:"lat_p90_us"`
	P99           int64   `json:"lat_p99_us"`
	Max           int64   `json:"lat_max_us"`
	Cipher        string  `json:"cipher"`
}

// worker is one goroutine's tally; merged at the end.
type worker struct {
	res    result
	lat    []int64 // µs per completed request
	cipher uint16
}

// kinds of failure, mapped onto the counters.
var (
	errStatus  = errors.New("status")
	errResumed = errors.New("resumed")
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "server address (host:port)")
	ca := flag.String("ca", "", "PEM certificate the server's must verify against (required)")
	conns := flag.Int("conns", 64, "connections in flight (goroutines)")
	duration := flag.Duration("duration", 5*time.Second, "how long to run (at most 10m)")
	path := flag.String("path", "/", "request path")
	body := flag.String("body", "Hello, World!", "expected response body (empty: any)")
	flag.Parse()
	if *ca == "" || *conns < 1 || *duration <= 0 || *duration > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "handshakes: -ca is required, -conns >= 1, 0 < -duration <= 10m")
		os.Exit(2)
	}
	pool, err := tlscert.Pool(*ca)
	if err != nil {
		fmt.Fprintln(os.Stderr, "handshakes:", err)
		os.Exit(1)
	}
	cfg := tlscert.ClientConfig(pool)
	req := []byte("GET " + *path + " HTTP/1.1\r\nHost: " + *addr + "\r\nConnection: close\r\n\r\n")

	fmt.Fprintln(os.Stderr, "window-start")
	start := time.Now()
	deadline := start.Add(*duration)
	workers := make([]worker, *conns)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				cs, err := once(*addr, cfg, req, *body)
				if err != nil {
					w.count(err)
					continue
				}
				w.res.Requests++
				w.lat = append(w.lat, time.Since(t0).Microseconds())
				w.cipher = cs.CipherSuite
			}
		}(&workers[i])
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Fprintln(os.Stderr, "window-end")
	out := merge(workers, elapsed)
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

// once makes one connection, one full handshake and one request.
func once(addr string, cfg *tls.Config, req []byte, want string) (tls.ConnectionState, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, fmt.Errorf("dial: %w", err)
	}
	tc := raw.(*net.TCPConn)
	defer func() {
		_ = tc.SetLinger(0)
		_ = tc.Close()
	}()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = c.HandshakeContext(ctx)
	cancel()
	if err != nil {
		return tls.ConnectionState{}, fmt.Errorf("handshake: %w", err)
	}
	cs := c.ConnectionState()
	if cs.DidResume {
		return cs, errResumed
	}
	if _, err := c.Write(req); err != nil {
		return cs, fmt.Errorf("write: %w", err)
	}
	if err := readResponse(bufio.NewReader(c), want); err != nil {
		return cs, err
	}
	return cs, nil
}

// readResponse reads one response framed by Content-Length (at most
// 1 MiB) and checks its status is 200 and, when want is not empty, its
// body.
func readResponse(r *bufio.Reader, want string) error {
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	if resp.ContentLength < 0 || resp.ContentLength > 1<<20 {
		return fmt.Errorf("%w: Content-Length %d", errStatus, resp.ContentLength)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if want != "" && string(b) != want {
		return fmt.Errorf("%w: body %q", errStatus, b)
	}
	return nil
}

// count files err under its counter.
func (w *worker) count(err error) {
	var ne net.Error
	switch s := err.Error(); {
	case errors.As(err, &ne) && ne.Timeout():
		w.res.Timeouts++
	case errors.Is(err, errResumed):
		w.res.Resumed++
	case errors.Is(err, errStatus):
		w.res.StatusErrors++
	case strings.HasPrefix(s, "dial:"):
		w.res.ConnectErrors++
	case strings.HasPrefix(s, "handshake:"):
		w.res.TLSErrors++
	case strings.HasPrefix(s, "write:"):
		w.res.WriteErrors++
	default:
		w.res.ReadErrors++
	}
	if w.res.Timeouts+w.res.ConnectErrors+w.res.TLSErrors+w.res.ReadErrors+w.res.WriteErrors+w.res.StatusErrors+w.res.Resumed == 1 {
		fmt.Fprintln(os.Stderr, "handshakes: first error:", err)
	}
}

// merge adds the workers' tallies and computes the latency percentiles.
func merge(ws []worker, elapsed time.Duration) result {
	var out result
	var lat []int64
	var cipher uint16
	for _, w := range ws {
		out.Requests += w.res.Requests
		out.ConnectErrors += w.res.ConnectErrors
		out.ReadErrors += w.res.ReadErrors
		out.WriteErrors += w.res.WriteErrors
		out.StatusErrors += w.res.StatusErrors
		out.Timeouts += w.res.Timeouts
		out.TLSErrors += w.res.TLSErrors
		out.Resumed += w.res.Resumed
		lat = append(lat, w.lat...)
		if w.cipher != 0 {
			cipher = w.cipher
		}
	}
	out.Depth = 1
	out.DurationUS = elapsed.Microseconds()
	if cipher != 0 {
		out.Cipher = tls.CipherSuiteName(cipher)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		var sum int64
		for _, v := range lat {
			sum += v
		}
		out.Mean = float64(sum) / float64(len(lat))
		out.P50, out.P90, out.P99 = pct(lat, 50), pct(lat, 90), pct(lat, 99)
		out.Max = lat[len(lat)-1]
	}
	return out
}

// pct returns the p-th percentile (nearest rank) of the sorted values.
func pct(sorted []int64, p float64) int64 {
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
