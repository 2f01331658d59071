package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// wsRoute serves GET /ws as a WebSocket echo (text and binary, compression
// offered) and hands every other request to next.
type wsRoute struct {
	next http1.Handler
	up   *websocket.Upgrader
}

func newWSRoute(next http1.Handler) wsRoute {
	return wsRoute{next: next, up: &websocket.Upgrader{
		Config:      websocket.Config{Compression: true, NoContextTakeover: true},
		CheckOrigin: func(*http1.Request, string) bool { return true },
	}}
}

func (h wsRoute) ServeHTTP1(w *http1.ResponseWriter, r *http1.Request) {
	if string(r.Path()) == "/ws" {
		_, _ = h.up.Upgrade(w, r, wsEcho{})
		return
	}
	h.next.ServeHTTP1(w, r)
}

// wsEcho sends every message back as it came.
type wsEcho struct{}

func (wsEcho) OnOpen(*websocket.Conn) {}
func (wsEcho) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	_ = c.Send(mt, data)
}
func (wsEcho) OnClose(*websocket.Conn, error) {}

type wsConfig struct {
	target   string
	conns    int
	duration time.Duration
	size     int
	loops    int
	uring    bool // Options.IOUring for the client's loops and the embedded server's
	markers  bool
	secure   bool   // embedded server over TLS (wss), trusted by the client
	insecure bool   // wss target: skip certificate verification
	caFile   string // wss target: trust the certificates in this PEM file instead of the system's
}

func benchWS(args []string) error {
	fs := flag.NewFlagSet("bench ws", flag.ContinueOnError)
	var c wsConfig
	fs.StringVar(&c.target, "target", "", "ws:// or wss:// WebSocket echo `URL` (default: start `ioloop serve --http`'s /ws on 127.0.0.1)")
	fs.IntVar(&c.conns, "conns", 1000, "connections")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time")
	fs.IntVar(&c.size, "size", 64, "message size in bytes (binary messages)")
	fs.IntVar(&c.loops, "loops", 0, "client event loops (default GOMAXPROCS)")
	fs.BoolVar(&c.uring, "io-uring", false, "batch the client's (and the embedded server's) socket reads and writes through io_uring")
	fs.BoolVar(&c.insecure, "insecure", false, "wss:// target: do not verify its certificate")
	fs.StringVar(&c.caFile, "cacert", "", "wss:// target: verify its certificate against the certificates in `FILE` (PEM) instead of the system's roots")
	asJSON := fs.Bool("json", false, "print the result as one JSON object (and window-start/window-end lines on stderr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench ws: unexpected argument %q", fs.Arg(0))
	}
	if (c.insecure || c.caFile != "") && !strings.HasPrefix(c.target, "wss://") && !strings.HasPrefix(c.target, "https://") {
		return errors.New("bench ws: --insecure and --cacert are for a wss:// --target")
	}
	c.markers = *asJSON
	r, err := runWS(c)
	if err != nil {
		return err
	}
	return report([]result{r}, *asJSON)
}

// wsClient is one load connection: one message in flight, every echoed
// byte checked, each round trip's latency recorded.
type wsClient struct {
	run     *echoRun
	stats   *loopStats
	sent    int64
	stopped bool
}

func (e *wsClient) send(c *websocket.Conn) {
	e.sent = int64(time.Since(e.run.start))
	if err := c.Send(websocket.BinaryMessage, e.run.payload); err != nil {
		e.stats.errors.Add(1)
	}
}

func (e *wsClient) OnOpen(c *websocket.Conn) {
	e.run.opened.Add(1)
	e.stats = &e.run.stats[c.Loop().Index()]
	e.send(c)
}

func (e *wsClient) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	if mt != websocket.BinaryMessage || !bytes.Equal(data, e.run.payload) {
		e.stats.errors.Add(1)
		_ = c.Close(websocket.CloseProtocolError, "wrong echo")
		return
	}
	if e.run.measure.Load() {
		e.stats.ops.Add(1)
		e.stats.hist.record(int64(time.Since(e.run.start)) - e.sent)
	}
	if e.run.stop.Load() {
		if !e.stopped {
			e.stopped = true
			_ = c.Close(websocket.CloseNormal, "")
		}
		return
	}
	e.send(c)
}

func (e *wsClient) OnClose(c *websocket.Conn, err error) {
	if ce, ok := err.(*websocket.CloseError); !e.run.stop.Load() || !ok || (ce.Code != websocket.CloseNormal && ce.Code != websocket.CloseGoingAway) {
		e.run.stats[c.Loop().Index()].errors.Add(1)
	}
	e.run.wg.Done()
}

func runWS(cfg wsConfig) (result, error) {
	if cfg.conns <= 0 || cfg.size <= 0 || cfg.duration <= 0 {
		return result{}, errors.New("bench ws: --conns, --size and --duration must be positive")
	}
	target := cfg.target
	var tlsConfig *tls.Config
	if target == "" {
		addr, roots, stop, err := embeddedServer(cfg.loops, cfg.uring, cfg.secure, newWSRoute(httpHandler{}))
		if err != nil {
			return result{}, err
		}
		defer stop()
		target, tlsConfig = "ws://"+addr+"/ws", roots
		if cfg.secure {
			target = "wss://" + addr + "/ws"
		}
	} else {
		u, err := url.Parse(target)
		if err != nil {
			return result{}, fmt.Errorf("bench ws: --target: %w", err)
		}
		switch u.Scheme {
		case "ws", "http":
		case "wss", "https":
			if tlsConfig, err = clientTLS(cfg.insecure, cfg.caFile); err != nil {
				return result{}, fmt.Errorf("bench ws: %w", err)
			}
		default:
			return result{}, fmt.Errorf("bench ws: --target %q: want a ws:// or wss:// URL", target)
		}
	}
	g, err := ioloop.New(ioloop.Options{Loops: cfg.loops, IOUring: cfg.uring})
	if err != nil {
		return result{}, err
	}
	defer g.Close()
	d := &websocket.Dialer{Timeout: 10 * time.Second, TLSConfig: tlsConfig}
	workload := "ws"
	if tlsConfig != nil {
		workload = "wss"
	}
	stats := make([]loopStats, len(g.Loops()))
	run := &echoRun{loadRun: loadRun{start: time.Now(), stats: stats}, payload: make([]byte, cfg.size)}
	rng := rand.New(rand.NewPCG(2, uint64(cfg.size)))
	for i := range run.payload {
		run.payload[i] = byte(rng.Uint32())
	}
	dialErrs := make(chan error, cfg.conns)
	for range cfg.conns {
		run.wg.Add(1)
		f := d.Dial(g, target, &wsClient{run: run})
		go func() {
			<-f.Done()
			if _, err, _ := f.Result(); err != nil {
				run.wg.Done() // OnOpen and OnClose never run for a failed handshake
				dialErrs <- err
			}
		}()
	}
	deadline := time.Now().Add(15 * time.Second)
	for run.opened.Load()+int64(len(dialErrs)) < int64(cfg.conns) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(dialErrs) > 0 {
		err := <-dialErrs
		run.stop.Store(true)
		return result{}, fmt.Errorf("bench %s: %d of %d handshakes failed, first: %w", workload, len(dialErrs)+1, cfg.conns, err)
	}
	time.Sleep(300 * time.Millisecond)
	window := run.window(fmt.Sprintf("%s %d conns × %d B", workload, cfg.conns, cfg.size), cfg.duration, cfg.markers, nil)
	r := result{Workload: workload, Target: target, Conns: cfg.conns, Size: cfg.size, Pipeline: 1}
	run.collect(g, &r, window, 2*cfg.size, int64(cfg.conns)-run.opened.Load())
	return r, nil
}
