package wsinterop

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	ws "github.com/ioloop/ioloop/websocket"
)

// The side-by-side benchmarks. Each server (ioloop, gorilla/websocket,
// nbio) runs in a child process pinned to one CPU (see child_test.go); the
// client is this process, pinned to the other CPU, and is the same for the
// three servers. Server CPU time is the child's own getrusage over the
// measured part. Set WSINTEROP_PIN=none to pin nothing, and
// WSINTEROP_SERVER_CPUPROFILE=PREFIX to profile the server child. run.sh
// runs them in interleaved rounds and prints medians.

var servers = []string{"ioloop", "gorilla", "nbio"}

// fixture is what a sub-benchmark sets up once and reuses across the calls
// the testing package makes of it (b.N = 1, then larger): a server child and
// its clients. closers run in reverse order.
type fixture struct {
	key     string
	closers []func()
	val     any
}

// fixtureSlot keeps at most one fixture alive, so that 10,000 client
// descriptors of one server are closed before the next server's are opened.
type fixtureSlot struct{ cur *fixture }

func (s *fixtureSlot) release() {
	if s.cur == nil {
		return
	}
	for i := len(s.cur.closers) - 1; i >= 0; i-- {
		s.cur.closers[i]()
	}
	s.cur = nil
}

// get returns the fixture of key, making it with mk (which appends its
// closers to f) after releasing any other.
func (s *fixtureSlot) get(key string, mk func(f *fixture) error) (*fixture, error) {
	if s.cur != nil && s.cur.key == key {
		return s.cur, nil
	}
	s.release()
	f := &fixture{key: key}
	s.cur = f
	if err := mk(f); err != nil {
		s.release()
		return nil, err
	}
	return f, nil
}

// newSlot returns a slot released when b (the parent benchmark) ends, after
// a leak check of descriptors and goroutines.
func newSlot(b *testing.B) *fixtureSlot {
	checkLeaks(b)
	s := &fixtureSlot{}
	b.Cleanup(s.release)
	return s
}

// spawnFor starts a server child for a fixture.
func spawnFor(f *fixture, name, mode string) (*serverProc, error) {
	p, err := startChild(name, mode, true)
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, p.stop)
	return p, nil
}

// echoLoad is the echo client's handler: every connection keeps one
// message in flight while the run's budget lasts, and every echo is
// compared with what was sent.
type echoLoad struct {
	run    atomic.Pointer[echoRun]
	opened chan *ws.Conn
}

type echoRun struct {
	payload []byte
	conns   int64
	left    atomic.Int64 // echoes still to receive
	wrong   atomic.Int64 // echoes that differed from the message sent
	done    chan struct{}
}

func (l *echoLoad) OnOpen(c *ws.Conn) { l.opened <- c }
func (l *echoLoad) OnMessage(c *ws.Conn, mt ws.MessageType, data []byte) {
	r := l.run.Load()
	if r == nil {
		return
	}
	if mt != ws.BinaryMessage || !bytes.Equal(data, r.payload) {
		r.wrong.Add(1)
	}
	// The first conns messages were sent at the start; one more is sent
	// for each echo while at least conns echoes are still due, so exactly
	// max(n, conns) messages go out and the run ends with the last.
	switch n := r.left.Add(-1); {
	case n >= r.conns:
		_ = c.Send(ws.BinaryMessage, r.payload)
	case n == 0:
		close(r.done)
	}
}
func (l *echoLoad) OnClose(*ws.Conn, error) {}

type echoFixture struct {
	srv   *serverProc
	conns []*ws.Conn
	load  *echoLoad
}

// runEcho sends n messages of r.payload's size through the connections and
// returns when the last echo arrived; with n < len(conns), the messages
// still in flight are waited for too.
func (fx *echoFixture) runEcho(payload []byte, n int) (time.Duration, error) {
	r := &echoRun{payload: payload, conns: int64(len(fx.conns)), done: make(chan struct{})}
	r.left.Store(int64(n))
	fx.load.run.Store(r)
	start := time.Now()
	for _, c := range fx.conns {
		if err := c.Loop().Post(func() { _ = c.Send(ws.BinaryMessage, payload) }); err != nil {
			return 0, err
		}
	}
	select {
	case <-r.done:
	case <-time.After(120 * time.Second):
		return 0, fmt.Errorf("wsinterop: %d echoes still due after 120s", r.left.Load())
	}
	elapsed := time.Since(start)
	// Messages sent beyond n (n < conns) drain before the next run.
	for deadline := time.Now().Add(10 * time.Second); r.left.Load() > -(r.conns-int64(n)) && n < len(fx.conns); {
		if time.Now().After(deadline) {
			return 0, errors.New("wsinterop: echoes of a short run did not drain")
		}
		time.Sleep(time.Millisecond)
	}
	fx.load.run.Store(nil)
	if w := r.wrong.Load(); w > 0 {
		return 0, fmt.Errorf("wsinterop: %d echoes differ from the message sent", w)
	}
	return elapsed, nil
}

// newEchoFixture starts name's echo server and opens conns ioloop client
// connections to it on one loop, then warms up with 20 messages per
// connection.
func newEchoFixture(f *fixture, name string, conns, size int) error {
	p, err := spawnFor(f, name, "echo")
	if err != nil {
		return err
	}
	g, err := ioloop.New(ioloop.Options{Loops: 1, Logger: quietLogger()})
	if err != nil {
		return err
	}
	f.closers = append(f.closers, func() { _ = g.Close() })
	fx := &echoFixture{srv: p, load: &echoLoad{opened: make(chan *ws.Conn, conns)}}
	f.val = fx
	d := &ws.Dialer{Timeout: 30 * time.Second}
	for i := 0; i < conns; i++ {
		d.Dial(g, p.url, fx.load)
		if i%128 == 127 { // at most about 128 handshakes in flight
			for len(fx.conns) < i-64 {
				fx.conns = append(fx.conns, <-fx.load.opened)
			}
		}
	}
	for len(fx.conns) < conns {
		select {
		case c := <-fx.load.opened:
			fx.conns = append(fx.conns, c)
		case <-time.After(30 * time.Second):
			return fmt.Errorf("wsinterop: %d of %d connections opened", len(fx.conns), conns)
		}
	}
	if err := p.waitCount(conns); err != nil {
		return err
	}
	_, err = fx.runEcho(payloadOf(size), 20*conns)
	return err
}

// payloadOf returns size pseudo-random bytes (the same for every server).
func payloadOf(size int) []byte {
	p := make([]byte, size)
	rng := rand.New(rand.NewPCG(7, uint64(size)))
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// BenchmarkEcho1000 runs the same echo load (1,000 connections of ioloop's
// WebSocket client on one loop, one binary message in flight on each, every
// echo checked) against each server child; one op is one round trip.
// Metrics: msgs/s (round trips per second, limited by whichever side runs
// out of CPU first) and srv-µs/msg, the server child's CPU time per round
// trip, which ranks the servers.
func BenchmarkEcho1000(b *testing.B) {
	const conns = 1000
	if nofile() < conns+200 {
		b.Skipf("RLIMIT_NOFILE %d is below the %d descriptors needed", nofile(), conns+200)
	}
	pinClient(b)
	slot := newSlot(b)
	for _, size := range []int{64, 4096} {
		for _, name := range servers {
			b.Run(fmt.Sprintf("size=%d/server=%s", size, name), func(b *testing.B) {
				f, err := slot.get(fmt.Sprintf("%s/%d", name, size), func(f *fixture) error {
					return newEchoFixture(f, name, conns, size)
				})
				if err != nil {
					b.Fatal(err)
				}
				fx := f.val.(*echoFixture)
				payload := payloadOf(size)
				stop := fx.srv.profile(b, fmt.Sprintf("echo-%d-%s", size, name))
				cpu0, err := fx.srv.cpu()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				elapsed, err := fx.runEcho(payload, b.N)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				cpu1, err := fx.srv.cpu()
				if err != nil {
					b.Fatal(err)
				}
				stop()
				msgs := max(b.N, conns)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(msgs), "srv-µs/msg")
			})
		}
	}
}

// bcastFixture is a broadcast server child with its raw clients.
type bcastFixture struct {
	srv     *serverProc
	rc      *rawClient
	n       int
	seq     uint64
	perConn float64 // server RSS growth per connection, in bytes
}

// broadcast sends the next message to all and waits until every client has
// it; it returns the time from the request to the last receipt.
func (fx *bcastFixture) broadcast() (time.Duration, error) {
	fx.seq++
	start := time.Now()
	if err := fx.srv.send("bcast " + strconv.FormatUint(fx.seq, 10)); err != nil {
		return 0, err
	}
	if err := fx.rc.await(int64(fx.seq)*int64(fx.n), 60*time.Second); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	v, err := fx.srv.reply()
	if err != nil {
		return 0, err
	}
	if v != strconv.Itoa(fx.n) {
		return 0, fmt.Errorf("wsinterop: %s server gave the message to %s of %d connections", fx.srv.name, v, fx.n)
	}
	return elapsed, nil
}

// settle is the wait before reading a server's RSS with its connections
// open, as in the TCP idle-memory measurement.
const settle = 1500 * time.Millisecond

// openIdle dials n raw connections to p, waits until p holds them all and
// settle has passed, and returns the client and p's RSS growth per
// connection.
func openIdle(f *fixture, p *serverProc, n int) (*rawClient, float64, error) {
	time.Sleep(200 * time.Millisecond)
	before, err := p.rss()
	if err != nil {
		return nil, 0, err
	}
	rc, err := dialRawClient(p.url, n, 16)
	if err != nil {
		return nil, 0, err
	}
	f.closers = append(f.closers, rc.Close)
	if err := p.waitCount(n); err != nil {
		return nil, 0, err
	}
	time.Sleep(settle)
	after, err := p.rss()
	if err != nil {
		return nil, 0, err
	}
	return rc, float64(after-before) / float64(n), nil
}

// BenchmarkBroadcast10k: 10,000 raw client connections (one epoll reader
// here, see rawclient_test.go) to each server child in broadcast mode; one
// op is one 64-byte binary message sent by the server to all of them, from
// the request to the child until every client has received it and checked
// it (in order, exactly once). Metrics: ms/bcast (that wall time), srv-ms/bcast
// (the child's CPU time per broadcast) and B/conn (the child's RSS growth
// per connection in broadcast mode: gorilla's hub holds two goroutines per
// connection). Two broadcasts warm each server up before the first op.
func BenchmarkBroadcast10k(b *testing.B) {
	const n = 10000
	if nofile() < n+200 {
		b.Skipf("RLIMIT_NOFILE %d is below the %d descriptors needed", nofile(), n+200)
	}
	pinClient(b)
	slot := newSlot(b)
	for _, name := range servers {
		b.Run("server="+name, func(b *testing.B) {
			f, err := slot.get(name, func(f *fixture) error {
				p, err := spawnFor(f, name, "broadcast")
				if err != nil {
					return err
				}
				rc, per, err := openIdle(f, p, n)
				if err != nil {
					return err
				}
				fx := &bcastFixture{srv: p, rc: rc, n: n, perConn: per}
				f.val = fx
				for range 2 {
					if _, err := fx.broadcast(); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			fx := f.val.(*bcastFixture)
			stop := fx.srv.profile(b, "broadcast-"+name)
			cpu0, err := fx.srv.cpu()
			if err != nil {
				b.Fatal(err)
			}
			var wall time.Duration
			cli0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, err := fx.broadcast()
				if err != nil {
					b.Fatal(err)
				}
				wall += d
			}
			b.StopTimer()
			cli1 := cpuTime()
			cpu1, err := fx.srv.cpu()
			if err != nil {
				b.Fatal(err)
			}
			stop()
			b.ReportMetric(float64(wall.Microseconds())/1e3/float64(b.N), "ms/bcast")
			b.ReportMetric(float64((cli1-cli0).Microseconds())/1e3/float64(b.N), "cli-ms/bcast")
			b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1e3/float64(b.N), "srv-ms/bcast")
			b.ReportMetric(fx.perConn, "B/conn")
		})
	}
}

// BenchmarkIdle10k: the RSS growth of each server child (echo mode: its
// cheapest shape, one goroutine per connection for gorilla) per WebSocket
// connection, with 10,000 raw client connections open and idle after their
// handshake (settle 1.5 s). One op is one whole measurement with a fresh
// child (run it with -benchtime=1x); B/conn is the median over the ops.
func BenchmarkIdle10k(b *testing.B) {
	const n = 10000
	if nofile() < n+200 {
		b.Skipf("RLIMIT_NOFILE %d is below the %d descriptors needed", nofile(), n+200)
	}
	pinClient(b)
	checkLeaks(b)
	for _, name := range servers {
		b.Run("server="+name, func(b *testing.B) {
			var per []float64
			for i := 0; i < b.N; i++ {
				f := &fixture{}
				slot := &fixtureSlot{cur: f}
				p, err := spawnFor(f, name, "echo")
				if err == nil {
					var v float64
					_, v, err = openIdle(f, p, n)
					per = append(per, v)
				}
				slot.release()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(median(per), "B/conn")
		})
	}
}

// median returns the median of xs (0 for none); xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
