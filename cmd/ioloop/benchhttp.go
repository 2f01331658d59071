package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/internal/selfsigned"
)

type httpConfig struct {
	target   string // URL; empty: an embedded server's /plaintext
	conns    int
	pipeline int
	duration time.Duration
	loops    int
	uring    bool // Options.IOUring for the client's loops and the embedded server's
	markers  bool
	secure   bool   // embedded server over TLS (https), trusted by the client
	insecure bool   // https target: skip certificate verification
	caFile   string // https target: trust the certificates in this PEM file instead of the system's
}

func benchHTTP(args []string) error {
	fs := flag.NewFlagSet("bench http", flag.ContinueOnError)
	var c httpConfig
	fs.StringVar(&c.target, "target", "", "http:// or https:// `URL` to GET (default: start an ioloop HTTP server on 127.0.0.1 and GET /plaintext)")
	fs.IntVar(&c.conns, "conns", 256, "connections")
	fs.IntVar(&c.pipeline, "pipeline", 1, "requests in flight per connection (HTTP pipelining)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time")
	fs.IntVar(&c.loops, "loops", 0, "client event loops (default GOMAXPROCS)")
	fs.BoolVar(&c.uring, "io-uring", false, "batch the client's (and the embedded server's) socket reads and writes through io_uring")
	fs.BoolVar(&c.insecure, "insecure", false, "https:// target: do not verify its certificate")
	fs.StringVar(&c.caFile, "cacert", "", "https:// target: verify its certificate against the certificates in `FILE` (PEM) instead of the system's roots")
	asJSON := fs.Bool("json", false, "print the result as one JSON object (and window-start/window-end lines on stderr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench http: unexpected argument %q", fs.Arg(0))
	}
	if (c.insecure || c.caFile != "") && !strings.HasPrefix(c.target, "https://") {
		return errors.New("bench http: --insecure and --cacert are for an https:// --target")
	}
	c.markers = *asJSON
	r, err := runHTTP(c)
	if err != nil {
		return err
	}
	return report([]result{r}, *asJSON)
}

// httpRun is one `bench http` run: conns × pipeline workers, each keeping
// one request in flight with Client.DoFunc and sending the next from the
// response callback, on the connection's loop (no goroutine per request or
// connection).
type httpRun struct {
	loadRun // wg: one per worker, done when it stops
	cfg     httpConfig
	cl      *http1.Client
	size    atomic.Int64 // body bytes of one response
	warm    atomic.Int64 // workers that got a response (their connection is up)
	failed  atomic.Int64 // errors outside the window (loop unknown)
	lastErr atomic.Pointer[error]
}

// httpWorker is one request slot; its request and callback are reused.
type httpWorker struct {
	run  *httpRun
	req  http1.ClientRequest
	sent int64
	fn   func(*http1.Response, error)
	warm bool // got a response; its exchanges are sequential, so no race
}

func (w *httpWorker) send() {
	w.sent = int64(time.Since(w.run.start))
	w.run.cl.DoFunc(&w.req, w.fn)
}

func (w *httpWorker) done(resp *http1.Response, err error) {
	run := w.run
	if err != nil || resp.StatusCode != 200 {
		if err == nil {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		run.lastErr.Store(&err)
		if resp == nil {
			// The exchange failed (its connection is gone): count it and
			// back off a little instead of redialing at full speed.
			run.failed.Add(1)
			time.AfterFunc(10*time.Millisecond, w.next)
			return
		}
		run.stats[resp.Loop().Index()].errors.Add(1)
		w.next()
		return
	}
	if run.measure.Load() {
		st := &run.stats[resp.Loop().Index()]
		st.ops.Add(1)
		st.hist.record(int64(time.Since(run.start)) - w.sent)
	}
	run.size.Store(int64(len(resp.Body())))
	if !w.warm {
		w.warm = true
		run.warm.Add(1)
	}
	w.next()
}

func (w *httpWorker) next() {
	if w.run.stop.Load() {
		w.run.wg.Done()
		return
	}
	w.send()
}

func runHTTP(cfg httpConfig) (result, error) {
	if cfg.conns <= 0 || cfg.pipeline <= 0 || cfg.duration <= 0 {
		return result{}, errors.New("bench http: --conns, --pipeline and --duration must be positive")
	}
	target := cfg.target
	var tlsConfig *tls.Config
	if target == "" {
		addr, roots, stop, err := embeddedServer(cfg.loops, cfg.uring, cfg.secure, httpHandler{})
		if err != nil {
			return result{}, err
		}
		defer stop()
		target, tlsConfig = "http://"+addr+"/plaintext", roots
		if cfg.secure {
			target = "https://" + addr + "/plaintext"
		}
	} else if strings.HasPrefix(target, "https://") {
		var err error
		if tlsConfig, err = clientTLS(cfg.insecure, cfg.caFile); err != nil {
			return result{}, fmt.Errorf("bench http: %w", err)
		}
	} else if !strings.HasPrefix(target, "http://") {
		return result{}, fmt.Errorf("bench http: --target %q: want an http:// or https:// URL", target)
	}
	g, err := ioloop.New(ioloop.Options{Loops: cfg.loops, IOUring: cfg.uring})
	if err != nil {
		return result{}, err
	}
	defer g.Close()
	cl := &http1.Client{Group: g, MaxConnsPerHost: cfg.conns, MaxIdlePerHost: cfg.conns, Pipeline: cfg.pipeline, DialTimeout: 5 * time.Second, TLSConfig: tlsConfig}
	stats := make([]loopStats, len(g.Loops()))
	run := &httpRun{loadRun: loadRun{start: time.Now(), stats: stats}, cfg: cfg, cl: cl}

	// One request first: a wrong target fails fast with its error.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	probe, err := cl.Do(&http1.ClientRequest{URL: target}).Await(ctx)
	cancel()
	if err != nil {
		return result{}, fmt.Errorf("bench http: %s: %w", target, err)
	}
	if probe.StatusCode != 200 {
		return result{}, fmt.Errorf("bench http: %s: status %d", target, probe.StatusCode)
	}
	workers := make([]httpWorker, cfg.conns*cfg.pipeline)
	for i := range workers {
		w := &workers[i]
		w.run, w.req.URL = run, target
		w.fn = w.done
		run.wg.Add(1)
		w.send()
	}
	// Warm up until every connection is dialed and every worker has had a
	// response (so TLS handshakes are over), bounded, then measure.
	deadline := time.Now().Add(10 * time.Second)
	for cl.NumConns() < cfg.conns && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	opened := cl.NumConns()
	for run.warm.Load() < int64(len(workers)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	workload := "http"
	if tlsConfig != nil {
		workload = "https"
	}
	label := fmt.Sprintf("%s %d conns, %d in flight each", workload, cfg.conns, cfg.pipeline)
	window := run.window(label, cfg.duration, cfg.markers, run.failed.Load)
	_ = cl.Close()
	r := result{Workload: workload, Target: target, Conns: cfg.conns, Size: int(run.size.Load()), Pipeline: cfg.pipeline}
	run.collect(g, &r, window, r.Size, int64(cfg.conns-opened))
	r.Errors += run.failed.Load()
	if r.Errors > 0 {
		if e := run.lastErr.Load(); e != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %d errors, last: %v\n", workload, r.Errors, *e)
		}
	}
	return r, nil
}

// embeddedServer starts an http1 server with h on a new group (loops,
// uring) at 127.0.0.1:0 for a bench run, over TLS with an ephemeral
// self-signed certificate when secure. It returns the server's address,
// when secure a client configuration trusting that certificate (else nil),
// and stop, which closes the server and its group.
func embeddedServer(loops int, uring, secure bool, h http1.Handler) (addr string, roots *tls.Config, stop func(), err error) {
	srv, err := ioloop.New(ioloop.Options{Loops: loops, IOUring: uring})
	if err != nil {
		return "", nil, nil, err
	}
	s := &http1.Server{Handler: h}
	if secure {
		cert, err := selfsigned.New()
		if err != nil {
			srv.Close()
			return "", nil, nil, err
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		roots = &tls.Config{RootCAs: cert.Pool}
	}
	ln, err := s.Listen(srv, "tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return "", nil, nil, err
	}
	return ln.Addr().String(), roots, func() { _ = s.Close(); srv.Close() }, nil
}
