// Command wsload is the load generator of the WebSocket-over-TLS echo
// benchmark (bench/cmd/runwss): a raw RFC 6455 client on Go's crypto/tls
// (a goroutine per connection) that keeps -conns connections each with
// -pipeline binary messages of -size bytes in flight against an echo
// server, checks every echoed byte, and counts the round trips completed
// in a measured window.
//
//	wsload -target wss://127.0.0.1:9443/ws -cacert cert.pem -conns 1000 -size 64 -pipeline 1 -duration 3s -json
//	wsload -target wss://127.0.0.1:9443/ws -insecure -check
//
// Method: all connections are opened first (64 handshakes at a time, 15 s
// at most), then every connection writes its -pipeline messages in one
// write and, after each read, reads whatever further echoes are already
// buffered and writes as many new messages in one write, so that
// -pipeline stay outstanding. After -warmup the round-trip counters are
// summed, "window-start" is printed on standard error, and after -duration
// they are summed again and "window-end" is printed: the harness samples
// the server's CPU time at those two lines. The messages carry one random
// payload; a reply that is not a binary message equal to it byte for byte,
// or a read error before the window ends, counts as an error and ends that
// connection (the first error is printed, every one with -v); errors
// counts those from the first message to the window's end. With -json the
// result is one JSON object on standard output (workload, target, conns,
// size, pipeline, duration_s, ops, ops_per_s, errors, connect_s) and the
// exit status is 0 whatever errors says; without it, one line of text,
// and status 1 when errors is not 0.
//
// -check instead sends, on two connections, binary and text messages of
// 1, 64, 1000 and 70000 bytes, a message in three fragments with a ping
// between them, and a close frame, and wants each echoed whole with its
// opcode and the close answered; it exits 1 on the first difference.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	target   string
	caFile   string
	insecure bool
	conns    int
	size     int
	pipeline int
	duration time.Duration
	warmup   time.Duration
	asJSON   bool
	check    bool
	verbose  bool
}

// result is the JSON object printed with -json.
type result struct {
	Workload string  `json:"workload"`
	Target   string  `json:"target"`
	Conns    int     `json:"conns"`
	Size     int     `json:"size"`
	Pipeline int     `json:"pipeline"`
	Duration float64 `json:"duration_s"`
	Ops      int64   `json:"ops"`
	OpsPerS  float64 `json:"ops_per_s"`
	Errors   int64   `json:"errors"`
	ConnectS float64 `json:"connect_s"`
}

func main() {
	var c config
	flag.StringVar(&c.target, "target", "", "echo `URL`, wss://127.0.0.1:PORT/PATH (ws:// for no TLS)")
	flag.StringVar(&c.caFile, "cacert", "", "PEM `file` of the certificate to trust")
	flag.BoolVar(&c.insecure, "insecure", false, "do not verify the server's certificate")
	flag.IntVar(&c.conns, "conns", 1000, "connections")
	flag.IntVar(&c.size, "size", 64, "message size in bytes")
	flag.IntVar(&c.pipeline, "pipeline", 1, "messages in flight per connection")
	flag.DurationVar(&c.duration, "duration", 3*time.Second, "measured window")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "load before the window (not counted)")
	flag.BoolVar(&c.asJSON, "json", false, "print one JSON object (and window-start/window-end on stderr)")
	flag.BoolVar(&c.verbose, "v", false, "print every connection's error, not only the first")
	flag.BoolVar(&c.check, "check", false, "check the echo (sizes, opcodes, fragments, close) instead of loading it")
	flag.Parse()
	d, err := newDialer(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(2)
	}
	if c.check {
		if err := check(d); err != nil {
			fmt.Fprintln(os.Stderr, "wsload: check:", err)
			os.Exit(1)
		}
		fmt.Println("check ok")
		return
	}
	r, err := load(c, d, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
	if c.asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	} else {
		fmt.Printf("%s %d conns × %d B × %d in flight: %.0f msg/s over %.2fs (%d round trips), %d errors\n",
			r.Target, r.Conns, r.Size, r.Pipeline, r.OpsPerS, r.Duration, r.Ops, r.Errors)
	}
	if r.Errors > 0 && !c.asJSON {
		os.Exit(1)
	}
}

// dialer opens one client connection with the handshake done.
type dialer struct {
	u   *url.URL
	tls *tls.Config // nil for ws://
}

func newDialer(c config) (*dialer, error) {
	u, err := url.Parse(c.target)
	if err != nil {
		return nil, fmt.Errorf("-target: %w", err)
	}
	if u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1" {
		return nil, fmt.Errorf("-target %q: loopback only", c.target)
	}
	d := &dialer{u: u}
	switch u.Scheme {
	case "ws":
	case "wss":
		d.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: c.insecure}
		if c.caFile != "" {
			pem, err := os.ReadFile(c.caFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-cacert %s: no certificate", c.caFile)
			}
			d.tls.RootCAs = pool
		}
	default:
		return nil, fmt.Errorf("-target %q: want ws:// or wss://", c.target)
	}
	if !c.check && (c.conns <= 0 || c.size <= 0 || c.pipeline <= 0 || c.duration <= 0 || c.warmup < 0) {
		return nil, errors.New("-conns, -size, -pipeline and -duration must be positive")
	}
	return d, nil
}

func (d *dialer) dial() (net.Conn, *bufio.Reader, error) {
	var nc net.Conn
	var err error
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if d.tls != nil {
		nc, err = tls.DialWithDialer(nd, "tcp", d.u.Host, d.tls)
	} else {
		nc, err = nd.Dial("tcp", d.u.Host)
	}
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(nc, 16<<10)
	if err := handshake(nc, br, d.u); err != nil {
		nc.Close()
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, br, nil
}

// counter is one connection's round trips, on its own cache line.
type counter struct {
	n atomic.Int64
	_ [56]byte
}

type loadRun struct {
	payload []byte
	frames  []byte // pipeline masked frames of payload, back to back
	flen    int    // bytes of one frame in frames
	stop    atomic.Bool
	errors  atomic.Int64
	counts  []counter
	wg      sync.WaitGroup
	errOnce sync.Once
	first   error
	verbose bool
}

func (r *loadRun) fail(err error) {
	if r.stop.Load() {
		return // errors while stopping are the teardown's
	}
	if r.verbose {
		fmt.Fprintln(os.Stderr, "wsload:", err)
	}
	r.errors.Add(1)
	r.errOnce.Do(func() { r.first = err })
}

// serve drives one connection until stop.
func (r *loadRun) serve(nc net.Conn, br *bufio.Reader, cnt *counter, pipeline int) {
	defer r.wg.Done()
	defer nc.Close()
	buf := make([]byte, 0, len(r.payload)+16)
	if _, err := nc.Write(r.frames); err != nil {
		r.fail(err)
		return
	}
	for {
		n := 0
		for n == 0 || (n < pipeline && br.Buffered() > 0) {
			op, msg, err := readMessage(br, buf)
			if err != nil {
				r.fail(fmt.Errorf("read after %d round trips on %v: %w", cnt.n.Load(), nc.LocalAddr(), err))
				return
			}
			if op != opBinary || !bytes.Equal(msg, r.payload) {
				r.fail(fmt.Errorf("wrong echo: opcode %#x, %d bytes", op, len(msg)))
				return
			}
			n++
		}
		cnt.n.Add(int64(n))
		if r.stop.Load() {
			_, _ = nc.Write(appendFrame(nil, opClose, []byte{0x03, 0xE8}, [4]byte{1, 2, 3, 4}))
			return
		}
		if _, err := nc.Write(r.frames[:n*r.flen]); err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *loadRun) sum() int64 {
	var t int64
	for i := range r.counts {
		t += r.counts[i].n.Load()
	}
	return t
}

// load opens c.conns connections and measures; markers go to mark when
// c.asJSON is set.
func load(c config, d *dialer, mark *os.File) (result, error) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(c.size)))
	r := &loadRun{payload: make([]byte, c.size), counts: make([]counter, c.conns), verbose: c.verbose}
	for i := range r.payload {
		r.payload[i] = byte(rng.Uint32())
	}
	mask := [4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
	one := appendFrame(nil, opBinary, r.payload, mask)
	r.flen = len(one)
	r.frames = bytes.Repeat(one, c.pipeline)

	t0 := time.Now()
	conns := make([]net.Conn, c.conns)
	readers := make([]*bufio.Reader, c.conns)
	var mu sync.Mutex
	var dialErr error
	failed := 0
	sem := make(chan struct{}, 64)
	var dwg sync.WaitGroup
	for i := range c.conns {
		sem <- struct{}{}
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			defer func() { <-sem }()
			nc, br, err := d.dial()
			if err != nil {
				mu.Lock()
				failed++
				if dialErr == nil {
					dialErr = err
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			conns[i], readers[i] = nc, br
			mu.Unlock()
		}()
	}
	dwg.Wait()
	// The load starts once every connection is open: connections that
	// pumped while others were still dialing would take this process's
	// CPU from the dials, the more so the faster the server echoes.
	for i, nc := range conns {
		if nc != nil {
			r.wg.Add(1)
			go r.serve(nc, readers[i], &r.counts[i], c.pipeline)
		}
	}
	connectS := time.Since(t0).Seconds()
	stopAll := func() {
		r.stop.Store(true)
		// Readers waiting for an echo get it (the server is alive) or this
		// deadline; either way every goroutine ends within 2 s.
		for _, nc := range conns {
			if nc != nil {
				_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
			}
		}
		r.wg.Wait()
	}
	if failed > 0 {
		stopAll()
		return result{}, fmt.Errorf("%d of %d connections failed, first: %v", failed, c.conns, dialErr)
	}
	time.Sleep(c.warmup)
	startOps, start := r.sum(), time.Now()
	if c.asJSON {
		fmt.Fprintln(mark, "window-start")
	}
	time.Sleep(c.duration)
	endOps, end := r.sum(), time.Now()
	if c.asJSON {
		fmt.Fprintln(mark, "window-end")
	}
	errsInWindow := r.errors.Load()
	stopAll()
	if r.first != nil {
		fmt.Fprintln(os.Stderr, "wsload: first error:", r.first)
	}
	el := end.Sub(start).Seconds()
	return result{
		Workload: "wss", Target: c.target, Conns: c.conns, Size: c.size, Pipeline: c.pipeline,
		Duration: el, Ops: endOps - startOps, OpsPerS: float64(endOps-startOps) / el,
		Errors: errsInWindow, ConnectS: connectS,
	}, nil
}
