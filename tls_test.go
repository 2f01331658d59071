package ioloop_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/selfsigned"
)

// testCert is one certificate for the package's TLS tests.
var testCert = sync.OnceValue(func() *selfsigned.Cert {
	c, err := selfsigned.New()
	if err != nil {
		panic(err)
	}
	return c
})

func serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{testCert().TLS}, NextProtos: []string{"echo/1", "other"}}
}

func clientConfig(version uint16) *tls.Config {
	return &tls.Config{RootCAs: testCert().Pool, ServerName: "localhost", MinVersion: version, MaxVersion: version, NextProtos: []string{"echo/1"}}
}

var tlsVersions = []struct {
	name    string
	version uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}

// tlsEcho echoes plaintext and records what the handler saw.
type tlsEcho struct {
	mu      sync.Mutex
	opened  int
	data    int
	states  []tls.ConnectionState
	closed  chan error
	trunc   []bool
	eofSeen chan struct{}
}

func newTLSEcho() *tlsEcho {
	return &tlsEcho{closed: make(chan error, 1<<16), eofSeen: make(chan struct{}, 1<<16)}
}

func (h *tlsEcho) OnOpen(c *ioloop.Conn) {
	st, ok := c.ConnectionState()
	h.mu.Lock()
	h.opened++
	if ok {
		h.states = append(h.states, st)
	}
	h.mu.Unlock()
}

func (h *tlsEcho) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	h.mu.Lock()
	h.data++
	h.mu.Unlock()
	c.Write(b)
}

func (h *tlsEcho) OnEOF(c *ioloop.Conn) {
	h.mu.Lock()
	h.trunc = append(h.trunc, c.Truncated())
	h.mu.Unlock()
	h.eofSeen <- struct{}{}
	c.Close()
}
func (h *tlsEcho) OnBackpressure(*ioloop.Conn, bool) {}
func (h *tlsEcho) OnShutdown(c *ioloop.Conn)         { c.Close() }
func (h *tlsEcho) OnClose(c *ioloop.Conn, err error) { h.closed <- err }

func listenTLS(t *testing.T, g *ioloop.Group, h ioloop.Handler) string {
	t.Helper()
	ln, err := g.ListenTLS("tcp", "127.0.0.1:0", serverConfig(), h)
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String()
}

// TestTLSEchoWithGoClient: crypto/tls clients (TLS 1.2 and 1.3) write
// random sizes up to 1 MiB and read every byte back; the handler sees
// plaintext, the negotiated state, and close_notify as a clean end.
func TestTLSEchoWithGoClient(t *testing.T) {
	checkLeaks(t)
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			g := newGroup(t, ioloop.Options{Loops: 2})
			h := newTLSEcho()
			addr := listenTLS(t, g, h)
			rng := rand.New(rand.NewPCG(uint64(v.version), 7))
			var wg sync.WaitGroup
			for i := range 4 {
				sizes := []int{1, 100, 16384, 16385, 70000, 1 << 20, rng.IntN(300000)}
				wg.Go(func() {
					conn, err := tls.Dial("tcp", addr, clientConfig(v.version))
					if err != nil {
						t.Error(err)
						return
					}
					defer conn.Close()
					for _, n := range sizes {
						msg := make([]byte, n)
						for j := range msg {
							msg[j] = byte(j*31 + i + n)
						}
						go conn.Write(msg)
						got := make([]byte, n)
						if _, err := io.ReadFull(conn, got); err != nil {
							t.Errorf("read %d: %v", n, err)
							return
						}
						if !bytes.Equal(got, msg) {
							t.Errorf("echo of %d bytes differs", n)
							return
						}
					}
					if st := conn.ConnectionState(); st.NegotiatedProtocol != "echo/1" || st.Version != v.version {
						t.Errorf("client state: ALPN %q version %x", st.NegotiatedProtocol, st.Version)
					}
					if err := conn.CloseWrite(); err != nil { // close_notify, then FIN
						t.Error(err)
					}
					if b, err := io.ReadAll(conn); err != nil || len(b) != 0 {
						t.Errorf("after close_notify: %q, %v; want a clean end", b, err)
					}
				})
			}
			wg.Wait()
			for range 4 {
				if err := <-h.closed; err != nil {
					t.Errorf("OnClose: %v, want nil after close_notify", err)
				}
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.opened != 4 || len(h.states) != 4 {
				t.Fatalf("opened %d, states %d", h.opened, len(h.states))
			}
			for _, st := range h.states {
				if st.Version != v.version || st.NegotiatedProtocol != "echo/1" || !st.HandshakeComplete || st.ServerName != "localhost" {
					t.Fatalf("server state: version %x ALPN %q complete %v SNI %q", st.Version, st.NegotiatedProtocol, st.HandshakeComplete, st.ServerName)
				}
			}
			for _, tr := range h.trunc {
				if tr {
					t.Fatal("Truncated after close_notify")
				}
			}
			if s := g.TLSStats(); s.Handshakes != 4 || s.HandshakeErrors != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestTLSDialToListen: an ioloop client and server talk TLS to each other,
// in both versions, split into random writes; DialTLSFuture resolves after
// the handshake, with the state there.
func TestTLSDialToListen(t *testing.T) {
	checkLeaks(t)
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			g := newGroup(t, ioloop.Options{Loops: 2})
			addr := listenTLS(t, g, newTLSEcho())
			want := make([]byte, 300000)
			for i := range want {
				want[i] = byte(i ^ i>>9)
			}
			got := make(chan []byte, 1)
			cl := &collect{want: len(want), done: got}
			f := g.DialTLSFuture("tcp", addr, clientConfig(v.version), cl, time.Second)
			c, err := f.Await(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			states := make(chan tls.ConnectionState, 1)
			c.Loop().Post(func() {
				st, _ := c.ConnectionState()
				states <- st
				for b := want; len(b) > 0; {
					n := min(len(b), 1+rand.IntN(40000))
					c.Write(b[:n])
					b = b[n:]
				}
			})
			if st := <-states; st.Version != v.version || st.NegotiatedProtocol != "echo/1" {
				t.Fatalf("client state: version %x ALPN %q", st.Version, st.NegotiatedProtocol)
			}
			select {
			case b := <-got:
				if !bytes.Equal(b, want) {
					t.Fatal("echo differs")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no echo")
			}
			c.Close()
		})
	}
}

// collect gathers input until it has want bytes.
type collect struct {
	ioloop.BaseHandler
	want int
	buf  []byte
	done chan []byte
}

func (h *collect) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	h.buf = append(h.buf, b...)
	if len(h.buf) == h.want {
		h.done <- h.buf
	}
}

// recorder counts callbacks, for connections that must never reach them.
type recorder struct {
	mu     sync.Mutex
	events []string
	closed chan error
}

func (r *recorder) add(e string)                      { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *recorder) OnOpen(*ioloop.Conn)               { r.add("open") }
func (r *recorder) OnData(*ioloop.Conn)               { r.add("data") }
func (r *recorder) OnEOF(c *ioloop.Conn)              { r.add("eof"); c.Close() }
func (r *recorder) OnBackpressure(*ioloop.Conn, bool) { r.add("bp") }
func (r *recorder) OnShutdown(*ioloop.Conn)           { r.add("shutdown") }
func (r *recorder) OnClose(_ *ioloop.Conn, err error) { r.closed <- err }
func (r *recorder) seen() []string                    { r.mu.Lock(); defer r.mu.Unlock(); return r.events }
func newRecorder() *recorder                          { return &recorder{closed: make(chan error, 16)} }

// TestTLSHandshakeFailures: garbage, plain HTTP, a client that does not
// trust the certificate, a reset mid-handshake and half a ClientHello each
// close only their connection, with an error wrapping ErrTLSHandshake,
// never reaching OnOpen or OnData, and are counted; a good client on the
// same listener is served meanwhile.
func TestTLSHandshakeFailures(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, HandshakeTimeout: 300 * time.Millisecond})
	r := newRecorder()
	addr := listenTLS(t, g, r)

	expect := func(name string, want error) {
		t.Helper()
		select {
		case err := <-r.closed:
			if !errors.Is(err, ioloop.ErrTLSHandshake) || want != nil && !errors.Is(err, want) {
				t.Fatalf("%s: OnClose(%v), want an error wrapping ErrTLSHandshake and %v", name, err, want)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: no OnClose", name)
		}
	}
	// Plain HTTP: crypto/tls answers with its record header error.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(raw, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	raw.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(raw); err != nil { // the server's FIN ends it
		t.Fatalf("plain HTTP: %v", err)
	}
	raw.Close()
	expect("plain HTTP", nil)

	// A client that does not trust the certificate sends an alert.
	bad := &tls.Config{ServerName: "localhost"}
	if c, err := tls.Dial("tcp", addr, bad); err == nil {
		c.Close()
		t.Fatal("untrusted certificate accepted")
	}
	expect("untrusted certificate", nil)

	// Half a ClientHello, then silence: the handshake timeout.
	hello := clientHello(t)
	raw, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(hello[:len(hello)/2])
	expect("half a ClientHello", ioloop.ErrTLSHandshakeTimeout)
	raw.Close()

	// A whole ClientHello, then a reset.
	raw, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(hello)
	buf := make([]byte, 1)
	raw.Read(buf) // the server's flight started
	raw.(*net.TCPConn).SetLinger(0)
	raw.Close()
	expect("reset mid-handshake", nil)

	if ev := r.seen(); len(ev) != 0 {
		t.Fatalf("the handler saw %v", ev)
	}
	s := g.TLSStats()
	if s.HandshakeErrors+s.HandshakeTimeouts != 4 || s.HandshakeTimeouts != 1 || s.Handshakes != 0 {
		t.Fatalf("stats %+v, want 3 errors and 1 timeout", s)
	}
}

// clientHello returns a real ClientHello record, captured from crypto/tls.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, clientConfig(tls.VersionTLS13)).Handshake()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// TestTLSTruncation: a FIN at a record boundary without close_notify ends
// the input (OnEOF) with Truncated true; a FIN in the middle of a record
// closes the connection with ErrTLSTruncated.
func TestTLSTruncation(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := newTLSEcho()
	addr := listenTLS(t, g, h)

	// The client's TLS over a raw TCP connection that we can half-close.
	dial := func() (*tls.Conn, *net.TCPConn) {
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := tls.Client(raw, clientConfig(tls.VersionTLS13))
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c, raw.(*net.TCPConn)
	}
	c, raw := dial()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	raw.CloseWrite() // FIN, no close_notify
	<-h.eofSeen
	if err := <-h.closed; err != nil {
		t.Fatalf("OnClose: %v", err)
	}
	c.Close()
	h.mu.Lock()
	tr := h.trunc
	h.mu.Unlock()
	if len(tr) != 1 || !tr[0] {
		t.Fatalf("Truncated = %v, want true", tr)
	}

	// Half a record, then FIN.
	c, raw = dial()
	c.Write([]byte("x")) // a whole record, so the server is past the handshake
	io.ReadFull(c, buf[:1])
	raw.Write([]byte{23, 3, 3, 0, 100, 1, 2, 3}) // a header and 3 of 100 bytes
	raw.CloseWrite()
	if err := <-h.closed; !errors.Is(err, ioloop.ErrTLSTruncated) {
		t.Fatalf("OnClose(%v), want ErrTLSTruncated", err)
	}
	c.Close()
}
