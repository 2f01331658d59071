package ioloop

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/onloop"
)

// Group is a set of event loops that serve listeners and dialed connections
// together. Create one with New. All its methods are safe from any goroutine
// except where stated.
type Group struct {
	opts  Options
	hs    *handshakePool
	loops []*Loop

	conns    atomic.Int64 // open connections, all loops
	rr       atomic.Uint32
	closing  atomic.Bool
	shutdown atomic.Bool
	drained  chan struct{} // signalled when conns reaches 0 during Shutdown

	mu        sync.Mutex
	listeners []*Listener
	packets   []*PacketListener
	closeOnce sync.Once
}

// New starts a Group of event loops configured by o. It fails on invalid
// options or when the poller cannot be created. Each loop is one goroutine
// (locked to an OS thread if o.LockOSThread) and about
// o.ReadBufferSize bytes of buffer.
func New(o Options) (*Group, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Group{opts: o, drained: make(chan struct{}, 1), hs: newHandshakePool(o.MaxHandshakes)}
	for i := range o.Loops {
		l, err := newLoop(g, i)
		if err != nil {
			for _, l := range g.loops {
				_ = l.p.Close()
				l.ur.close()
			}
			return nil, fmt.Errorf("ioloop: start loop %d: %w", i, err)
		}
		g.loops = append(g.loops, l)
	}
	for _, l := range g.loops {
		go l.run()
	}
	return g, nil
}

// Loops returns the group's loops. Safe from any goroutine.
func (g *Group) Loops() []*Loop { return g.loops }

// NumConns returns the number of open connections in the group. Safe from any goroutine.
func (g *Group) NumConns() int { return int(g.conns.Load()) }

// IOUring reports whether every loop of g batches its socket reads and
// writes through io_uring: Options.IOUring was set and each loop got a
// ring at start (a ring that fails later is reported through the logger,
// and its loop goes on with plain calls). Safe from any goroutine; O(loops).
func (g *Group) IOUring() bool {
	for _, l := range g.loops {
		if l.ur.ring == nil {
			return false
		}
	}
	return len(g.loops) > 0
}

// Options returns the options the group runs with, defaults filled in.
func (g *Group) Options() Options { return g.opts }

// pick chooses a loop for a new connection.
func (g *Group) pick(b Balance) *Loop {
	if len(g.loops) == 1 {
		return g.loops[0]
	}
	if b == BalanceLeastConns {
		best := g.loops[0]
		for _, l := range g.loops[1:] {
			if l.nconns.Load() < best.nconns.Load() {
				best = l
			}
		}
		return best
	}
	return g.loops[int(g.rr.Add(1))%len(g.loops)]
}

func (g *Group) connDone() {
	if g.conns.Add(-1) == 0 && g.shutdown.Load() {
		select {
		case g.drained <- struct{}{}:
		default:
		}
	}
}

// Shutdown stops the group gracefully: it closes every listener, calls
// OnShutdown on every open connection (BaseHandler closes it after flushing),
// waits until all connections have closed or ctx ends, then closes the rest
// with ErrServerClosed and stops the loops. It returns ctx.Err() when ctx
// ended first, else nil. It waits for the loops, so from a loop callback it
// fails at once with ErrOnLoop (call it from another goroutine: go
// g.Shutdown(ctx)). Safe from any other goroutine.
func (g *Group) Shutdown(ctx context.Context) error {
	if onloop.Current() {
		return ErrOnLoop
	}
	if g.closing.Load() {
		return ErrGroupClosed
	}
	g.shutdown.Store(true)
	g.closeListeners()
	for _, l := range g.loops {
		l.push(mailbox.Func(l.beginShutdown))
	}
	var err error
	if g.conns.Load() > 0 {
		select {
		case <-g.drained:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	g.Close()
	return err
}

// beginShutdown calls OnShutdown on every connection of the loop.
func (l *Loop) beginShutdown() {
	for i := range l.slots.len() {
		if c, ok := l.slots.get(i).(*Conn); ok && c.state == StateOpen {
			if c.is(fTLS) && c.ext.tls.phase != tlsOpen {
				c.destroy(ErrServerClosed) // the handler never saw it
				continue
			}
			c.callShutdown()
		}
	}
}

// Close closes every listener and connection at once (connections get
// ErrServerClosed in OnClose), stops the loops and waits for them. Later
// calls do nothing. It waits for the loops, so from a loop callback it fails
// at once with ErrOnLoop (call it from another goroutine: go g.Close()).
// Safe from any other goroutine.
func (g *Group) Close() error {
	if onloop.Current() {
		return ErrOnLoop
	}
	g.closeOnce.Do(func() {
		g.closing.Store(true)
		g.closeListeners()
		for _, l := range g.loops {
			l.pushUrgent(mailbox.Func(l.stop))
		}
		for _, l := range g.loops {
			<-l.done
		}
	})
	return nil
}

func (g *Group) closeListeners() {
	g.mu.Lock()
	lns, pls := g.listeners, g.packets
	g.listeners, g.packets = nil, nil
	g.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
	for _, pl := range pls {
		_ = pl.Close()
	}
}
