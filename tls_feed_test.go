package ioloop_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// splitConn sends every Write in pieces of 1 to max bytes, each its own
// TCP segment (TCP_NODELAY) with a pause behind it, so that the server's
// reads see records and handshake messages cut anywhere, and the loop
// runs out of input (would-block) between the pieces.
type splitConn struct {
	net.Conn
	rng *rand.Rand
	max int
}

func (s *splitConn) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), 1+s.rng.IntN(s.max))
		w, err := s.Conn.Write(b[:k])
		n += w
		if err != nil {
			return n, err
		}
		b = b[k:]
		time.Sleep(20 * time.Microsecond)
	}
	return n, nil
}

// TestTLSSplitInput: a client's handshake goes one byte per segment and its
// records in random pieces; the server decrypts every byte in order, in
// both versions, under -race.
func TestTLSSplitInput(t *testing.T) {
	checkLeaks(t)
	for _, v := range tlsVersions {
		for _, max := range []int{1, 7, 700} {
			t.Run(fmt.Sprintf("%s/max%d", v.name, max), func(t *testing.T) {
				g := newGroup(t, ioloop.Options{Loops: 1})
				addr := listenTLS(t, g, newTLSEcho())
				raw, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				sc := &splitConn{Conn: raw, rng: rand.New(rand.NewPCG(uint64(max), uint64(v.version))), max: max}
				c := tls.Client(sc, clientConfig(v.version))
				defer c.Close()
				want := make([]byte, 40000)
				for i := range want {
					want[i] = byte(i * 13)
				}
				switch max { // small segments are slow
				case 1:
					want = want[:3000]
				case 7:
					want = want[:12000]
				}
				errc := make(chan error, 1)
				go func() {
					for b := want; len(b) > 0; {
						k := min(len(b), 1+rand.IntN(5000))
						if _, err := c.Write(b[:k]); err != nil {
							errc <- err
							return
						}
						b = b[k:]
					}
					errc <- nil
				}()
				got := make([]byte, len(want))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatal(err)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatal("echo differs")
				}
			})
		}
	}
}

// TestTLSResumptionAndClientCerts: a server that requires client
// certificates sees the client's certificate; a second connection with the
// client's session cache resumes (both versions); a client without a
// certificate fails the handshake and is counted.
func TestTLSResumptionAndClientCerts(t *testing.T) {
	checkLeaks(t)
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			g := newGroup(t, ioloop.Options{Loops: 1})
			h := newTLSEcho()
			cfg := serverConfig()
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			cfg.ClientCAs = testCert().Pool
			ln, err := g.ListenTLS("tcp", "127.0.0.1:0", cfg, h)
			if err != nil {
				t.Fatal(err)
			}
			ccfg := clientConfig(v.version)
			ccfg.Certificates = []tls.Certificate{testCert().TLS}
			ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i := range 2 {
				c, err := tls.Dial("tcp", ln.Addr().String(), ccfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte("hi"))
				b := make([]byte, 2)
				if _, err := io.ReadFull(c, b); err != nil {
					t.Fatal(err)
				}
				if resumed := c.ConnectionState().DidResume; resumed != (i == 1) {
					t.Fatalf("connection %d: DidResume %v", i, resumed)
				}
				c.Close()
				<-h.closed
			}
			h.mu.Lock()
			states := h.states
			h.mu.Unlock()
			if len(states) != 2 || len(states[0].PeerCertificates) != 1 || !states[1].DidResume ||
				!states[0].PeerCertificates[0].Equal(testCert().Leaf) {
				t.Fatalf("server states: %d, peer certs %d", len(states), len(states[0].PeerCertificates))
			}

			nocert := clientConfig(v.version)
			c, err := tls.Dial("tcp", ln.Addr().String(), nocert)
			if err == nil {
				// TLS 1.3: the client finishes first; the server's alert
				// comes with the first read.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Read(make([]byte, 1))
				c.Close()
			}
			if err == nil {
				t.Fatal("a client without a certificate was served")
			}
			if err := <-h.closed; !errors.Is(err, ioloop.ErrTLSHandshake) {
				t.Fatalf("OnClose(%v), want ErrTLSHandshake", err)
			}
			if s := g.TLSStats(); s.Handshakes != 2 || s.HandshakeErrors != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestTLSDialFailures: a dial to a server whose certificate does not verify
// fails the future with an error wrapping ErrTLSHandshake and the x509
// error, after OnClose and without OnOpen; writes made before the
// handshake fail with it; a dial to a name the certificate lacks fails too.
func TestTLSDialFailures(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	addr := listenTLS(t, g, newTLSEcho())

	r := newRecorder()
	cfg := &tls.Config{MinVersion: tls.VersionTLS13} // system roots: our certificate is unknown
	f := g.DialTLSFuture("tcp", addr, cfg, r, time.Second)
	_, err := f.Await(t.Context())
	var unknown x509.UnknownAuthorityError
	if !errors.Is(err, ioloop.ErrTLSHandshake) || !errors.As(err, &unknown) {
		t.Fatalf("dial: %v, want ErrTLSHandshake and an x509.UnknownAuthorityError", err)
	}
	if e := <-r.closed; !errors.Is(e, ioloop.ErrTLSHandshake) {
		t.Fatalf("OnClose(%v)", e)
	}

	r = newRecorder()
	bad := clientConfig(tls.VersionTLS13)
	bad.ServerName = "not-this-host.example"
	c, err := g.DialTLS("tcp", addr, bad, r, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	early := c.WriteFuture([]byte("before the handshake"))
	if _, err := early.Await(t.Context()); !errors.Is(err, ioloop.ErrTLSHandshake) {
		t.Fatalf("early write: %v, want the handshake's error", err)
	}
	if e := <-r.closed; !errors.Is(e, ioloop.ErrTLSHandshake) {
		t.Fatalf("OnClose(%v)", e)
	}
	if ev := r.seen(); len(ev) != 0 {
		t.Fatalf("callbacks %v on a failed dial", ev)
	}
}

// TestTLSEarlyWrites: writes from another goroutine before the handshake
// finished go out after it, in order, before anything OnOpen writes.
func TestTLSEarlyWrites(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 2})
	addr := listenTLS(t, g, newTLSEcho())
	got := make(chan []byte, 1)
	h := &openWriter{collect: collect{want: 9, done: got}}
	c, err := g.DialTLS("tcp", addr, clientConfig(tls.VersionTLS13), h, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	c.AsyncWrite([]byte("one"), func(error) { wg.Done() })
	c.AsyncWrite([]byte("two"), func(error) { wg.Done() })
	select {
	case b := <-got:
		if string(b) != "onetwo[o]" {
			t.Fatalf("echo %q, want onetwo[o]", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo")
	}
	wg.Wait()
	c.Close()
}

// openWriter writes "[o]" in OnOpen.
type openWriter struct{ collect }

func (h *openWriter) OnOpen(c *ioloop.Conn) { c.Write([]byte("[o]")) }

// TestTLSShutdownDuringHandshake: Group.Shutdown closes connections still
// in their handshake without calling the handler, and drains open ones.
func TestTLSShutdownDuringHandshake(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 1, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	ln, err := g.ListenTLS("tcp", "127.0.0.1:0", serverConfig(), r)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write(clientHello(t)[:10]) // the handshake never completes
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-r.closed; !errors.Is(err, ioloop.ErrServerClosed) {
		t.Fatalf("OnClose(%v), want ErrServerClosed", err)
	}
	if ev := r.seen(); len(ev) != 0 {
		t.Fatalf("handler saw %v", ev)
	}
}

// TestTLSInputAndFinDuringHandshake: the client's last flight, data,
// close_notify and FIN all arrive while the server's handshake is still
// busy (VerifyConnection sleeps): once it is done the handler gets the
// data, then OnEOF, not Truncated, and the connection closes cleanly.
func TestTLSInputAndFinDuringHandshake(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	cfg := serverConfig()
	cfg.VerifyConnection = func(tls.ConnectionState) error {
		time.Sleep(100 * time.Millisecond)
		return nil
	}
	h := newTLSEcho()
	got := make(chan []byte, 1)
	ln, err := g.ListenTLS("tcp", "127.0.0.1:0", cfg, &dataThenEOF{tlsEcho: h, got: got})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, clientConfig(tls.VersionTLS13))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("last words"))
	c.CloseWrite()                  // close_notify
	raw.(*net.TCPConn).CloseWrite() // FIN
	select {
	case b := <-got:
		if string(b) != "last words" {
			t.Fatalf("data %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no data and OnEOF after the handshake")
	}
	if err := <-h.closed; err != nil {
		t.Fatalf("OnClose(%v)", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.trunc) != 1 || h.trunc[0] {
		t.Fatalf("Truncated %v, want false after close_notify", h.trunc)
	}
}

// dataThenEOF gathers input and hands it over at OnEOF.
type dataThenEOF struct {
	*tlsEcho
	buf []byte
	got chan []byte
}

func (h *dataThenEOF) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	h.buf = append(h.buf, b...)
}

func (h *dataThenEOF) OnEOF(c *ioloop.Conn) {
	h.got <- h.buf
	h.tlsEcho.OnEOF(c)
}
