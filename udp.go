package ioloop

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"

	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/onloop"
	"github.com/ioloop/ioloop/internal/poller"
	"github.com/ioloop/ioloop/internal/sock"
)

// PacketListener is a datagram (UDP) endpoint served by a Group: on Linux one
// socket per loop bound to the same port with SO_REUSEPORT, so the kernel
// spreads senders over the loops; elsewhere one socket on one loop.
type PacketListener struct {
	addr      net.Addr
	conns     []*PacketConn
	closeOnce sync.Once
}

// PacketConn is one datagram socket owned by one loop.
type PacketConn struct {
	l      *Loop
	h      PacketHandler
	fd     int
	slot   int32
	gen    uint16
	local  net.Addr
	closed bool
}

// ListenPacket starts serving datagrams on network ("udp", "udp4" or "udp6")
// and address with h. Invalid addresses and socket errors are returned at once.
// ListenPacket waits until every loop has registered its socket, so it fails
// at once with ErrOnLoop when called from a loop callback. Safe from any
// other goroutine.
func (g *Group) ListenPacket(network, address string, h PacketHandler) (*PacketListener, error) {
	if onloop.Current() {
		return nil, ErrOnLoop
	}
	if h == nil {
		return nil, fmt.Errorf("ioloop: ListenPacket %s %s: nil PacketHandler", network, address)
	}
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("ioloop: ListenPacket: unsupported network %q (want udp, udp4 or udp6)", network)
	}
	if g.closing.Load() {
		return nil, ErrGroupClosed
	}
	n := 1
	reuse := runtime.GOOS == "linux" && len(g.loops) > 1
	if reuse {
		n = len(g.loops)
	}
	pl := &PacketListener{}
	for i := range n {
		fd, addr, err := sock.ListenPacket(network, address, reuse)
		if err != nil {
			pl.closeUnregistered()
			return nil, fmt.Errorf("ioloop: listen %s %s: %w", network, address, err)
		}
		if i == 0 {
			pl.addr = addr
			address = addr.String()
		}
		pl.conns = append(pl.conns, &PacketConn{l: g.loops[i], h: h, fd: fd, local: addr})
	}
	for _, pc := range pl.conns {
		pc := pc
		done := make(chan error, 1)
		pc.l.push(mailbox.Func(func() { done <- pc.register() }))
		if err := <-done; err != nil {
			pl.Close()
			return nil, fmt.Errorf("ioloop: listen %s %s: %w", network, address, err)
		}
	}
	g.mu.Lock()
	g.packets = append(g.packets, pl)
	g.mu.Unlock()
	return pl, nil
}

// Addr returns the bound address.
func (pl *PacketListener) Addr() net.Addr { return pl.addr }

// Conns returns the per-loop sockets.
func (pl *PacketListener) Conns() []*PacketConn { return pl.conns }

// Close closes the sockets (each on its loop, in its next iteration). Safe
// from any goroutine.
func (pl *PacketListener) Close() error {
	pl.closeOnce.Do(func() {
		for _, pc := range pl.conns {
			pc.l.push(mailbox.Func(pc.close)) // after the loop's end: a no-op, it closed pc
		}
	})
	return nil
}

func (pl *PacketListener) closeUnregistered() {
	for _, pc := range pl.conns {
		if pc.gen == 0 && !pc.closed {
			pc.closed = true
			_ = sock.Close(pc.fd)
		}
	}
}

func (pc *PacketConn) register() error {
	if pc.closed {
		return ErrGroupClosed
	}
	slot, gen, err := pc.l.register(pc.fd, pc)
	if err != nil {
		pc.closed = true
		_ = sock.Close(pc.fd)
		return err
	}
	pc.slot, pc.gen = slot, gen
	pc.onEvent(poller.Readable)
	return nil
}

func (pc *PacketConn) close() {
	if pc.closed {
		return
	}
	pc.closed = true
	if pc.gen != 0 {
		pc.l.unregister(pc.slot)
	}
	_ = sock.Close(pc.fd)
}

// Loop returns the loop that owns the socket.
func (pc *PacketConn) Loop() *Loop { return pc.l }

// LocalAddr returns the socket's address.
func (pc *PacketConn) LocalAddr() net.Addr { return pc.local }

// WriteTo sends one datagram to addr at once (datagrams are not queued). When
// the kernel's buffer is full the datagram is dropped and the error says so.
// Loop only; 0 allocations.
func (pc *PacketConn) WriteTo(b []byte, addr netip.AddrPort) (int, error) {
	if pc.closed {
		return 0, ErrClosed
	}
	n, err := sock.SendTo(pc.fd, b, addr)
	if err != nil {
		return n, fmt.Errorf("ioloop: send to %v: %w", addr, err)
	}
	return n, nil
}

// onEvent reads datagrams within the loop's budget.
func (pc *PacketConn) onEvent(poller.Flags) {
	l := pc.l
	for range readBudget {
		if pc.closed {
			return
		}
		n, from, err := sock.RecvFrom(pc.fd, l.scratch)
		if err != nil {
			if err == syscall.EAGAIN {
				return
			}
			if err != syscall.EINTR {
				l.opts.Logger.Warn("ioloop: recvfrom failed", "addr", pc.local.String(), "err", err)
				return
			}
			continue
		}
		pc.callPacket(l.scratch[:n], from)
	}
	l.addReady(pc)
}

func (pc *PacketConn) callPacket(b []byte, from netip.AddrPort) {
	defer pc.l.recoverTask("OnPacket")
	pc.h.OnPacket(pc, b, from)
}

func (pc *PacketConn) generation() uint16 { return pc.gen }
