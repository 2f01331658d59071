package ioloop_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func TestMaxConnsRefuses(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, MaxConns: 2})
	h := newEcho()
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	var cs []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, []byte("ok"))
		cs = append(cs, c)
	}
	c3, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c3.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection: read %d, %v; want it closed at once", n, err)
	}
	cs[0].Close()
	h.waitCloses(t, 1)
	c4, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	roundTrip(t, c4, []byte("room again"))
}

func TestBalanceModes(t *testing.T) {
	checkLeaks(t)
	for _, b := range []ioloop.Balance{ioloop.BalanceReusePort, ioloop.BalanceRoundRobin, ioloop.BalanceLeastConns} {
		t.Run(b.String(), func(t *testing.T) {
			g := newGroup(t, ioloop.Options{Loops: 2, Balance: b})
			h := &openNotifier{newEcho(), make(chan *ioloop.Conn, 16)}
			ln := listen(t, g, "tcp", "127.0.0.1:0", h)
			per := map[int]int{}
			for i := range 8 {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				roundTrip(t, c, pattern(100, byte(i)))
				per[(<-h.conns).Loop().Index()]++
			}
			if b != ioloop.BalanceReusePort && (per[0] != 4 || per[1] != 4) {
				t.Fatalf("%v spread 8 connections as %v, want 4 and 4", b, per)
			}
		})
	}
}
