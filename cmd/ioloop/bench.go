package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ioloop/ioloop"
)

// result is what every bench workload reports; its JSON keys are a public
// interface.
type result struct {
	Workload  string  `json:"workload"`
	Target    string  `json:"target"`
	Conns     int     `json:"conns"`
	Size      int     `json:"size"`
	Pipeline  int     `json:"pipeline"`
	DurationS float64 `json:"duration_s"`
	Ops       int64   `json:"ops"`
	OpsPerS   float64 `json:"ops_per_s"`
	MBPerS    float64 `json:"mb_per_s"`
	P50us     float64 `json:"p50_us"`
	P90us     float64 `json:"p90_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
	Errors    int64   `json:"errors"`
}

func bench(args []string) error {
	if len(args) > 0 && args[0] == "echo" {
		return benchEcho(args[1:])
	}
	if len(args) > 0 && args[0] == "http" {
		return benchHTTP(args[1:])
	}
	if len(args) > 0 && args[0] == "ws" {
		return benchWS(args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("duration", 5*time.Second, "measured time of each workload (a fifth of it for https and wss)")
	asJSON := fs.Bool("json", false, "print one JSON object per workload instead of a table")
	loops := fs.Int("loops", 0, "event loops of the embedded server and of the client each (default GOMAXPROCS)")
	uring := fs.Bool("io-uring", false, "batch socket reads and writes through io_uring (Options.IOUring)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unknown workload %q (want echo, http or ws)", fs.Arg(0))
	}
	var results []result
	for _, w := range []echoConfig{
		{conns: 1000, size: 64, pipeline: 1},
		{conns: 1000, size: 64, pipeline: 16},
		{conns: 100, size: 4096, pipeline: 1},
	} {
		w.duration, w.loops, w.uring = *duration, *loops, *uring
		r, err := runEcho(w)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	// The TLS rows (an embedded server with an ephemeral certificate the
	// client trusts) measure for a fifth of the duration, and wss with
	// fewer connections, since each costs a full handshake: the whole run
	// stays short.
	short := max(*duration/5, time.Millisecond)
	for _, w := range []httpConfig{{conns: 256, duration: *duration}, {conns: 256, duration: short, secure: true}} {
		w.pipeline, w.loops, w.uring = 1, *loops, *uring
		r, err := runHTTP(w)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	for _, w := range []wsConfig{{conns: 1000, duration: *duration}, {conns: 250, duration: short, secure: true}} {
		w.size, w.loops, w.uring = 64, *loops, *uring
		r, err := runWS(w)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	return report(results, *asJSON)
}

type echoConfig struct {
	target   string
	conns    int
	duration time.Duration
	size     int
	pipeline int
	loops    int
	uring    bool // Options.IOUring for the client's loops and the embedded server's
	markers  bool // print window-start/window-end on stderr (with --json)
}

func benchEcho(args []string) error {
	fs := flag.NewFlagSet("bench echo", flag.ContinueOnError)
	var c echoConfig
	fs.StringVar(&c.target, "target", "", "echo server `ADDR` (default: start one on 127.0.0.1)")
	fs.IntVar(&c.conns, "conns", 1000, "connections")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time")
	fs.IntVar(&c.size, "size", 64, "message size in bytes")
	fs.IntVar(&c.pipeline, "pipeline", 1, "messages in flight per connection")
	fs.IntVar(&c.loops, "loops", 0, "client event loops (default GOMAXPROCS)")
	fs.BoolVar(&c.uring, "io-uring", false, "batch the client's (and the embedded server's) socket reads and writes through io_uring")
	asJSON := fs.Bool("json", false, "print the result as one JSON object (and window-start/window-end lines on stderr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench echo: unexpected argument %q", fs.Arg(0))
	}
	c.markers = *asJSON
	r, err := runEcho(c)
	if err != nil {
		return err
	}
	return report([]result{r}, *asJSON)
}

func report(rs []result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, r := range rs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tconns\tsize\tpipeline\tops/s\tMB/s\tp50 µs\tp90 µs\tp99 µs\tp99.9 µs\terrors\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t\n",
			r.Workload, r.Conns, r.Size, r.Pipeline, r.OpsPerS, r.MBPerS, r.P50us, r.P90us, r.P99us, r.P999us, r.Errors)
	}
	return tw.Flush()
}

// loopStats are one client loop's counters: written by that loop only, read
// by the progress line through atomics.
type loopStats struct {
	ops    atomic.Int64
	errors atomic.Int64
	hist   histogram // loop only; read after the loops stopped
	_      [64]byte
}

// echoClient is the handler of one load connection: it keeps pipeline
// messages in flight, checks every echoed byte against what it sent, and
// records each round trip's latency.
type echoClient struct {
	ioloop.BaseHandler
	run     *echoRun
	stats   *loopStats
	pos     int     // bytes of the current message received
	sent    []int64 // send times of the messages in flight (FIFO)
	opened  bool
	stopped bool
}

// loadRun is what every bench workload's run shares: the clock, the
// measuring and stopping flags, the per-loop counters, and a wait group with
// one count per connection or worker.
type loadRun struct {
	start   time.Time
	measure atomic.Bool // count ops only inside the window
	stop    atomic.Bool
	wg      sync.WaitGroup
	stats   []loopStats // one per client loop
}

type echoRun struct {
	loadRun
	cfg     echoConfig
	payload []byte
	opened  atomic.Int64
}

func (e *echoClient) send(c *ioloop.Conn) {
	e.sent = append(e.sent, int64(time.Since(e.run.start)))
	_, _ = c.Write(e.run.payload)
}

func (e *echoClient) OnOpen(c *ioloop.Conn) {
	e.opened = true
	e.run.opened.Add(1)
	e.stats = &e.run.stats[c.Loop().Index()]
	for range e.run.cfg.pipeline {
		e.send(c)
	}
}

func (e *echoClient) OnData(c *ioloop.Conn) {
	p := e.run.payload
	for {
		b, _ := c.Peek(-1)
		if len(b) == 0 {
			return
		}
		n := min(len(b), len(p)-e.pos)
		if !bytes.Equal(b[:n], p[e.pos:e.pos+n]) {
			e.stats.errors.Add(1)
			c.Abort()
			return
		}
		c.Discard(n)
		e.pos += n
		if e.pos < len(p) {
			return
		}
		e.pos = 0
		now := int64(time.Since(e.run.start))
		if e.run.measure.Load() {
			e.stats.ops.Add(1)
			e.stats.hist.record(now - e.sent[0])
		}
		e.sent = e.sent[:copy(e.sent, e.sent[1:])]
		if e.run.stop.Load() {
			if !e.stopped && len(e.sent) == 0 {
				e.stopped = true
				c.Close()
			}
			continue
		}
		e.send(c)
	}
}

func (e *echoClient) OnEOF(c *ioloop.Conn) {
	if !e.run.stop.Load() {
		e.stats.errors.Add(1)
	}
	c.Close()
}

func (e *echoClient) OnClose(c *ioloop.Conn, err error) {
	if err != nil && !e.run.stop.Load() {
		if e.stats != nil {
			e.stats.errors.Add(1)
		} else {
			e.run.stats[c.Loop().Index()].errors.Add(1)
		}
	}
	e.run.wg.Done()
}

func runEcho(cfg echoConfig) (result, error) {
	if cfg.conns <= 0 || cfg.size <= 0 || cfg.pipeline <= 0 || cfg.duration <= 0 {
		return result{}, errors.New("bench echo: --conns, --size, --pipeline and --duration must be positive")
	}
	target := cfg.target
	if target == "" {
		srv, err := ioloop.New(ioloop.Options{Loops: cfg.loops, IOUring: cfg.uring})
		if err != nil {
			return result{}, err
		}
		defer srv.Close()
		ln, err := srv.Listen("tcp", "127.0.0.1:0", echoHandler{})
		if err != nil {
			return result{}, err
		}
		target = ln.Addr().String()
	}
	g, err := ioloop.New(ioloop.Options{Loops: cfg.loops, IOUring: cfg.uring})
	if err != nil {
		return result{}, err
	}
	defer g.Close()
	stats := make([]loopStats, len(g.Loops()))
	run := &echoRun{loadRun: loadRun{start: time.Now(), stats: stats}, cfg: cfg, payload: make([]byte, cfg.size)}
	rng := rand.New(rand.NewPCG(1, uint64(cfg.size)))
	for i := range run.payload {
		run.payload[i] = byte(rng.Uint32())
	}
	for i := range cfg.conns {
		run.wg.Add(1)
		if _, err := g.Dial("tcp", target, &echoClient{run: run, sent: make([]int64, 0, cfg.pipeline)}, 5*time.Second); err != nil {
			run.wg.Done()
			return result{}, fmt.Errorf("bench echo: dial %d of %d: %w", i+1, cfg.conns, err)
		}
	}
	// Warm up until every connection is open (bounded), then measure.
	deadline := time.Now().Add(10 * time.Second)
	for run.opened.Load() < int64(cfg.conns) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	label := fmt.Sprintf("echo %d conns × %d B, %d in flight", cfg.conns, cfg.size, cfg.pipeline)
	window := run.window(label, cfg.duration, cfg.markers, nil)
	r := result{Workload: "echo", Target: target, Conns: cfg.conns, Size: cfg.size, Pipeline: cfg.pipeline}
	run.collect(g, &r, window, 2*cfg.size, int64(cfg.conns)-run.opened.Load())
	return r, nil
}

// window runs the measured window of a workload whose connections are
// open: it counts operations for d (with a live line on a terminal and
// window-start/window-end markers on stderr when markers is set), then asks
// the connections to stop and waits for them (at most 5 s). It returns how
// long the window was.
func (run *loadRun) window(label string, d time.Duration, markers bool, extraErrs func() int64) time.Duration {
	progress := newProgress(os.Stderr)
	run.measure.Store(true)
	begin := time.Now()
	if markers {
		fmt.Fprintln(os.Stderr, "window-start")
	}
	tick := time.NewTicker(500 * time.Millisecond)
	for elapsed := time.Duration(0); elapsed < d; elapsed = time.Since(begin) {
		<-tick.C
		var ops, errs int64
		for i := range run.stats {
			ops += run.stats[i].ops.Load()
			errs += run.stats[i].errors.Load()
		}
		if extraErrs != nil {
			errs += extraErrs()
		}
		progress.update(fmt.Sprintf("%s: %s/%s  %d operations  %.0f/s  errors %d",
			label, time.Since(begin).Truncate(time.Second), d, ops, float64(ops)/time.Since(begin).Seconds(), errs))
	}
	tick.Stop()
	run.measure.Store(false)
	w := time.Since(begin)
	if markers {
		fmt.Fprintln(os.Stderr, "window-end")
	}
	run.stop.Store(true)
	progress.done()
	waitTimeout(&run.wg, 5*time.Second)
	return w
}

// collect fills r from the loops' counters once g (the client group) is
// closed, so that the loop-owned histograms can be read. bytesPerOp sets
// MB/s; missing counts connections that never opened, as errors.
func (run *loadRun) collect(g *ioloop.Group, r *result, window time.Duration, bytesPerOp int, missing int64) {
	for i := range run.stats {
		r.Ops += run.stats[i].ops.Load()
		r.Errors += run.stats[i].errors.Load()
	}
	g.Close()
	var h histogram
	for i := range run.stats {
		h.merge(&run.stats[i].hist)
	}
	r.DurationS = window.Seconds()
	r.OpsPerS = float64(r.Ops) / window.Seconds()
	r.MBPerS = r.OpsPerS * float64(bytesPerOp) / 1e6
	r.P50us, r.P90us, r.P99us, r.P999us = h.quantile(0.5), h.quantile(0.9), h.quantile(0.99), h.quantile(0.999)
	if missing > 0 {
		r.Errors += missing
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// progress draws a live line on a terminal, and nothing elsewhere.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(f *os.File) *progress {
	fi, err := f.Stat()
	return &progress{w: f, tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) update(s string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", s)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
