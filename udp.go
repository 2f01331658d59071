package ioloop

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"

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
	loopSock
	h     PacketHandler
	local net.Addr
}

// ListenPacket starts serving datagrams on network ("udp", "udp4" or "udp6")
// and address with h. Invalid addresses and socket errors are returned at once.
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
			closeUnregistered(pl.conns)
			return nil, fmt.Errorf("ioloop: listen %s %s: %w", network, address, err)
		}
		if i == 0 {
			pl.addr = addr
			address = addr.String()
		}
		pl.conns = append(pl.conns, &PacketConn{loopSock: loopSock{l: g.loops[i], fd: fd}, h: h, local: addr})
	}
	if err := registerOnLoops(pl.conns, func() { pl.Close() }, network, address); err != nil {
		return nil, err
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
		closeOnLoops(pl.conns)
	})
	return nil
}

// Loop returns the loop that owns the socket.
func (pc *PacketConn) Loop() *Loop { return pc.l }

// LocalAddr returns the socket's address.
func (pc *PacketConn) LocalAddr() net.Addr { return pc.local }

// WriteTo sends one datagram to addr at once (datagrams are not queued). When
// the kernel's buffer is full the datagram is dropped and the error says so.
// Loop only; 0 allocations.
func (pc *PacketConn) WriteTo(b []byte, addr netip.AddrPort) (int, error) {
	pc.l.mustOwn("PacketConn.WriteTo")
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
