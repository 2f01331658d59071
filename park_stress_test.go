package ioloop_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// pingClient hands every echoed 8-byte sequence number to got.
type pingClient struct {
	ioloop.BaseHandler
	got  chan uint64
	open chan *ioloop.Conn
}

func (h *pingClient) OnOpen(c *ioloop.Conn) { h.open <- c }

func (h *pingClient) OnData(c *ioloop.Conn) {
	for c.Buffered() >= 8 {
		b, _ := c.Next(8)
		h.got <- binary.BigEndian.Uint64(b)
	}
}

// Loops that sleep parked hand a request back and forth with a goroutine
// and with each other: goroutine -> client loop (Post) -> server loop
// (TCP) -> client loop -> goroutine (channel), thousands of times, on
// fresh groups, with and without a far timer pending on both loops (a
// deadline on every sleep, never reached: a near one would hide a lost
// wake-up). A wake-up lost anywhere on that path stalls a round: each
// must arrive, in order, exactly once, well within the watchdog.
func TestParkedLoopsNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	for set := range 4 {
		sg := newGroup(t, ioloop.Options{Loops: 1})
		cg := newGroup(t, ioloop.Options{Loops: 1})
		for _, g := range []*ioloop.Group{sg, cg} {
			if set%2 == 1 {
				continue
			}
			l := g.Loops()[0]
			done := make(chan struct{})
			_ = l.Post(func() { l.AfterFunc(time.Hour, func() {}); close(done) })
			<-done
		}
		ln := listen(t, sg, "tcp", "127.0.0.1:0", newEcho())
		h := &pingClient{got: make(chan uint64, 1), open: make(chan *ioloop.Conn, 1)}
		if _, err := cg.Dial("tcp", ln.Addr().String(), h, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		c := <-h.open
		l := cg.Loops()[0]
		watchdog := time.NewTimer(time.Hour)
		var far ioloop.Timer // client loop only: a far timer moved every round
		for i := uint64(1); i <= uint64(rounds); i++ {
			if err := l.Post(func() {
				if set%2 == 0 {
					// Each sleep's deadline moves, later or earlier, as a
					// client's per-request timers move it.
					far.Stop()
					far = l.AfterFunc(time.Hour+time.Duration(i%7)*time.Millisecond, func() {})
				}
				var b [8]byte
				binary.BigEndian.PutUint64(b[:], i)
				if _, err := c.Write(b[:]); err != nil {
					t.Errorf("write: %v", err)
				}
			}); err != nil {
				t.Fatal(err)
			}
			watchdog.Reset(5 * time.Second)
			select {
			case v := <-h.got:
				if v != i {
					t.Fatalf("set %d: round %d got %d", set, i, v)
				}
			case <-watchdog.C:
				t.Fatalf("set %d: round %d never came back: a wake-up was lost", set, i)
			}
		}
		watchdog.Stop()
		cg.Close()
		sg.Close()
	}
}
