package ioloop_test

import (
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/ioloop/ioloop"
)

// TestTLSPostQuantumHello: crypto/tls's default ClientHello carries a
// post-quantum key share (over 1 KiB); the server gathers it, even one
// byte per segment, and feeds it cut into small records, which crypto/tls
// accepts (handshake messages may span records).
func TestTLSPostQuantumHello(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	addr := listenTLS(t, g, newTLSEcho())
	hello := clientHello(t)
	if len(hello) < 1000 {
		t.Fatalf("the ClientHello has %d bytes: no post-quantum key share?", len(hello))
	}
	for _, split := range []int{1, 100, len(hello)} {
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := tls.Client(&splitConn{Conn: raw, rng: rand.New(rand.NewPCG(uint64(split), 1)), max: split}, clientConfig(tls.VersionTLS13))
		if _, err := c.Write([]byte("pq")); err != nil {
			t.Fatalf("split %d: %v", split, err)
		}
		b := make([]byte, 2)
		if _, err := io.ReadFull(c, b); err != nil || string(b) != "pq" {
			t.Fatalf("split %d: %q, %v", split, b, err)
		}
		if st := c.ConnectionState(); st.CurveID != tls.X25519MLKEM768 {
			t.Fatalf("split %d: key exchange %v, want X25519MLKEM768", split, st.CurveID)
		}
		c.Close()
	}
}
