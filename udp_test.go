package ioloop_test

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func TestUDPEcho(t *testing.T) {
	checkLeaks(t)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			g := newGroup(t, ioloop.Options{Loops: 2})
			h := ioloop.PacketHandlerFunc(func(pc *ioloop.PacketConn, b []byte, from netip.AddrPort) {
				out := append([]byte(from.String()+" "), b...)
				if _, err := pc.WriteTo(out, from); err != nil {
					t.Error(err)
				}
			})
			pl, err := g.ListenPacket("udp", addr, h)
			if err != nil {
				if addr[0] == '[' {
					t.Skip("no IPv6 loopback:", err)
				}
				t.Fatal(err)
			}
			defer pl.Close()
			c, err := net.Dial("udp", pl.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 2048)
			for i := range 50 {
				msg := pattern(1+i*20, byte(i))
				c.Write(msg)
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				want := append([]byte(c.LocalAddr().(*net.UDPAddr).AddrPort().String()+" "), msg...)
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("datagram %d: got %q, want %q", i, buf[:min(n, 40)], want[:min(len(want), 40)])
				}
			}
		})
	}
}
