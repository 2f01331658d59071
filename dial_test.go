package ioloop_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func TestDialRefused(t *testing.T) {
	checkLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := newEcho()
	if _, err := g.Dial("tcp", addr, h, time.Second); err != nil {
		t.Fatal(err)
	}
	err = h.waitCloses(t, 1)[0]
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("OnClose: %v, want connection refused", err)
	}
	if h.opens != 0 {
		t.Fatal("OnOpen ran for a refused dial")
	}
	if _, err := g.Dial("tcp", "not an address", h, time.Second); err == nil {
		t.Fatal("Dial of a bad address did not fail")
	}
}
