package ioloop

import (
	"fmt"

	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/poller"
	"github.com/ioloop/ioloop/internal/sock"
)

// loopSock is the part a listening socket (lnSock) and a datagram socket
// (PacketConn) share: one socket registered on one loop's poller. Owned by
// that loop once registered; before, by the goroutine that opened it.
type loopSock struct {
	l      *Loop
	fd     int
	slot   int32
	gen    uint16 // 0 until registered
	closed bool
}

// loopSocket is a listener's socket on one loop, seen by the helpers below.
type loopSocket interface {
	pollable
	base() *loopSock
	close()
}

func (s *loopSock) base() *loopSock    { return s }
func (s *loopSock) generation() uint16 { return s.gen }

// register registers the socket on its loop's poller as p (the socket it is
// part of) and then handles what is waiting already, as a readiness event
// would. On failure the socket is closed. Loop only.
func (s *loopSock) register(p pollable) error {
	if s.closed {
		return ErrGroupClosed
	}
	slot, gen, err := s.l.register(s.fd, p)
	if err != nil {
		_ = sock.Close(s.fd)
		s.closed = true
		return err
	}
	s.slot, s.gen = slot, gen
	p.onEvent(poller.Readable) // connections or datagrams may be waiting already
	return nil
}

// close unregisters and closes the socket; later calls do nothing. Loop
// only.
func (s *loopSock) close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.gen != 0 {
		s.l.unregister(s.slot)
	}
	_ = sock.Close(s.fd)
}

// registerOnLoops registers each socket on its loop, one after the other,
// waiting for each (the task is never refused: see Loop.push). If a
// registration fails (a loop that stopped fails it with ErrGroupClosed),
// closeAll closes the listener and the error is returned as a listen error
// for network and address. From the goroutine that opened the sockets,
// which is not a loop's.
func registerOnLoops[S loopSocket](socks []S, closeAll func(), network, address string) error {
	for _, s := range socks {
		done := make(chan error, 1)
		s.base().l.push(mailbox.Func(func() {
			if s.base().l.stopped() {
				done <- ErrGroupClosed
				return
			}
			done <- s.base().register(s)
		}))
		if err := <-done; err != nil {
			closeAll()
			return fmt.Errorf("ioloop: listen %s %s: %w", network, address, err)
		}
	}
	return nil
}

// closeUnregistered closes the sockets that were never registered. From the
// goroutine that opened them.
func closeUnregistered[S loopSocket](socks []S) {
	for _, s := range socks {
		if b := s.base(); b.gen == 0 && !b.closed {
			b.closed = true
			_ = sock.Close(b.fd)
		}
	}
}

// closeOnLoops has each socket closed on its loop, in the loop's next
// iteration, without waiting. A loop that is gone closed its sockets
// already. Safe from any goroutine.
func closeOnLoops[S loopSocket](socks []S) {
	for _, s := range socks {
		s.base().l.push(mailbox.Func(s.close)) // after the loop's end: a no-op, it closed s
	}
}
