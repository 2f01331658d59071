package tlsio

// The tests of this file pin the behaviour of crypto/tls that the package's
// design relies on, so that a Go release that changes it fails here. The
// comments name the code of crypto/tls/conn.go (go1.26) each one rests on.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

var versions = []struct {
	name    string
	version uint16
}{
	{name: "TLS1.3", version: tls.VersionTLS13},
	{name: "TLS1.2", version: tls.VersionTLS12},
}

// TestHandshakeSplits: both handshakes complete in blocking mode when every
// byte travels alone and in random splits; ALPN and SNI are seen.
func TestHandshakeSplits(t *testing.T) {
	for _, v := range versions {
		for _, mode := range []string{"bytewise", "random"} {
			t.Run(v.name+"/"+mode, func(t *testing.T) {
				sp := splitter{}
				if mode == "random" {
					sp = splitter{rng: newRNG(t), mean: 40}
				}
				p := handshake(t, v.version, sp)
				if p.sni != testHost {
					t.Errorf("GetCertificate saw server name %q, want %q", p.sni, testHost)
				}
				for _, c := range []*tls.Conn{p.server, p.client} {
					st := c.ConnectionState()
					if st.Version != v.version || !st.HandshakeComplete {
						t.Errorf("version %x complete %v, want %x true", st.Version, st.HandshakeComplete, v.version)
					}
					if st.NegotiatedProtocol != "http/1.1" {
						t.Errorf("ALPN %q, want http/1.1", st.NegotiatedProtocol)
					}
				}
				if st := p.server.ConnectionState(); st.ServerName != testHost {
					t.Errorf("server's ConnectionState.ServerName %q", st.ServerName)
				}
			})
		}
	}
}

// TestRecordsNonBlocking: after the handshake, in non-blocking mode, records
// fed one byte at a time and in random splits give ErrWouldBlock until a
// record is complete (readRecordOrCCS does not call setErrorLocked for a
// net.Error whose Temporary is true, and readFromUntil keeps the partial
// record in rawInput), never poison the connection, and deliver the
// plaintext in order, in both directions.
func TestRecordsNonBlocking(t *testing.T) {
	for _, v := range versions {
		for _, mode := range []string{"bytewise", "random"} {
			t.Run(v.name+"/"+mode, func(t *testing.T) {
				sp := splitter{}
				if mode == "random" {
					sp = splitter{rng: newRNG(t), mean: 700}
				}
				p := handshake(t, v.version, splitter{rng: newRNG(t), mean: 100})
				p.srv.io.SetBlocking(false)
				p.cli.io.SetBlocking(false)

				// Client to server: one message larger than two records,
				// then many small ones (one record each).
				var want []byte
				big := message(40000, 1)
				if _, err := p.client.Write(big); err != nil {
					t.Fatal(err)
				}
				want = append(want, big...)
				for i := range 150 {
					m := message(1+i%50, byte(i))
					if _, err := p.client.Write(m); err != nil {
						t.Fatal(err)
					}
					want = append(want, m...)
				}
				if got := deliver(t, p.cli.io, p.srv.io, p.server, sp); !bytes.Equal(got, want) {
					t.Fatalf("server got %d bytes, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
				}

				// Server to client: the client's first Read also goes
				// through the TLS 1.3 session tickets left in its input.
				want = message(20000, 9)
				if _, err := p.server.Write(want); err != nil {
					t.Fatal(err)
				}
				if got := deliver(t, p.srv.io, p.cli.io, p.client, sp); !bytes.Equal(got, want) {
					t.Fatalf("client got %d bytes, want %d", len(got), len(want))
				}

				// The connection still works both ways.
				echo(t, p, []byte("after"))
			})
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// echo sends b from the client to the server and back, fed whole.
func echo(t *testing.T, p *pair, b []byte) {
	t.Helper()
	if _, err := p.client.Write(b); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, p.cli.io, p.srv.io, p.server, splitter{rng: newRNG(t), mean: 1 << 20}); !bytes.Equal(got, b) {
		t.Fatalf("server got %q, want %q", got, b)
	}
	if _, err := p.server.Write(b); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, p.srv.io, p.cli.io, p.client, splitter{rng: newRNG(t), mean: 1 << 20}); !bytes.Equal(got, b) {
		t.Fatalf("client got %q, want %q", got, b)
	}
}

// TestDataBehindFinished: application data that the side whose handshake
// ends first (the client in TLS 1.3, the server in TLS 1.2) sends right
// behind its Finished, arriving in the same Feed, is pulled into crypto/tls's
// rawInput by the other side's handshake (readFromUntil reads greedily: it
// grows rawInput by bytes.MinRead beyond what it needs and keeps what the
// underlying Read returns) and is delivered by the first Read after the
// handshake, with no Feed and nothing left in the tlsio buffer.
func TestDataBehindFinished(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			srv, cli := newSide(), newSide()
			var sni string
			scfg, ccfg := configs(t, v.version, &sni)
			server, client := tls.Server(srv.io, scfg), tls.Client(cli.io, ccfg)
			deadline := time.Now().Add(10 * time.Second)
			srv.io.SetReadDeadline(deadline)
			cli.io.SetReadDeadline(deadline)

			// writer finishes first and sends data behind its Finished.
			writer, reader := cli, srv
			wconn, rconn := client, server
			if v.version == tls.VersionTLS12 {
				writer, reader = srv, cli
				wconn, rconn = server, client
			}
			// The reader's flights go to the writer as they come; the
			// writer's go to the reader only when the test says so.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					move(reader.io, writer.io, splitter{})
					select {
					case <-stop:
						return
					case <-reader.wake:
					case <-time.After(10 * time.Millisecond):
					}
				}
			})
			defer func() { close(stop); wg.Wait() }()

			werr, rerr := make(chan error, 1), make(chan error, 1)
			go func() { werr <- wconn.Handshake() }()
			go func() { rerr <- rconn.Handshake() }()
			// The writer's first flight is one Write (the ClientHello; the
			// TLS 1.2 server's buffered ServerHello..ServerHelloDone).
			<-writer.wake
			move(writer.io, reader.io, splitter{whole: true})
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			want := []byte("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
			if _, err := wconn.Write(want); err != nil {
				t.Fatal(err)
			}
			// The writer's Finished and the data, in one Feed.
			if len(writer.io.Output()) > reader.io.maxIn {
				t.Fatal("the last flight does not fit one Feed")
			}
			move(writer.io, reader.io, splitter{whole: true})
			if err := <-rerr; err != nil {
				t.Fatal(err)
			}
			reader.io.SetBlocking(false)
			// Read stops at record boundaries, so the data record may
			// still be here or already inside crypto/tls (TLS 1.3 reads
			// a post-handshake record while it finishes): either way the
			// first Read returns it without a Feed.
			buf := make([]byte, 1024)
			n, err := rconn.Read(buf)
			if err != nil && err != ErrWouldBlock {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("first Read after the handshake: %q, %v; want %q", buf[:n], err, want)
			}
			if n, err := rconn.Read(buf); n != 0 || err != ErrWouldBlock {
				t.Fatalf("second Read: %d, %v; want 0, ErrWouldBlock", n, err)
			}
		})
	}
}

// TestHandshakeErrorSticky: an error that reaches the handshake, even a
// Temporary one, is final: handshakeContext stores it in c.handshakeErr and
// returns it from every later Handshake ("if err := c.handshakeErr; err !=
// nil { return err }"), and Read and Write call Handshake first. This is
// why the handshake runs in blocking mode.
func TestHandshakeErrorSticky(t *testing.T) {
	srv, cli := newSide(), newSide()
	var sni string
	scfg, ccfg := configs(t, tls.VersionTLS13, &sni)
	server, client := tls.Server(srv.io, scfg), tls.Client(cli.io, ccfg)
	cli.io.SetReadDeadline(time.Now().Add(10 * time.Second))
	go client.Handshake()
	<-cli.wake
	hello := bytes.Clone(cli.io.Output())
	defer client.Close()

	srv.io.SetBlocking(false)
	srv.io.Feed(hello[:len(hello)/2])
	err := server.Handshake()
	if !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("Handshake with half a ClientHello: %v, want ErrWouldBlock", err)
	}
	srv.io.Feed(hello[len(hello)/2:])
	srv.io.SetBlocking(true)
	srv.io.SetReadDeadline(time.Now().Add(time.Second))
	if err2 := server.Handshake(); err2 != err {
		t.Fatalf("second Handshake: %v, want the first error again", err2)
	}
	if _, err2 := server.Read(make([]byte, 10)); err2 != err {
		t.Fatalf("Read: %v, want the handshake's error", err2)
	}
	if _, err2 := server.Write([]byte("x")); err2 != err {
		t.Fatalf("Write: %v, want the handshake's error", err2)
	}
	if srv.io.buffered() != len(hello)-len(hello)/2 {
		t.Fatalf("crypto/tls read again after its handshake failed")
	}
}

// TestHandshakeTimeout: in blocking mode the read deadline ends a handshake
// whose peer stalls, with os.ErrDeadlineExceeded.
func TestHandshakeTimeout(t *testing.T) {
	srv := newSide()
	var sni string
	scfg, _ := configs(t, tls.VersionTLS13, &sni)
	server := tls.Server(srv.io, scfg)
	srv.io.Feed([]byte{22, 3, 1, 0, 200, 1}) // the start of a ClientHello
	srv.io.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	err := server.Handshake()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Handshake: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("Handshake returned after %v, before the deadline", d)
	}
}

// failConn fails Writes while fail is set, with a Temporary net.Error.
type failConn struct {
	*Conn
	mu   sync.Mutex
	fail bool
}

func (f *failConn) Write(b []byte) (int, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return 0, ErrWouldBlock
	}
	return f.Conn.Write(b)
}

// TestWriteErrorPermanent: one failed Write of the underlying connection
// fails every later tls.Conn.Write, even when the error was Temporary:
// Write ends with c.out.setErrorLocked(err), which wraps a net.Error in a
// permanentError whose Temporary is false, and returns c.out.err first
// thing. This is why tlsio's Write never fails.
func TestWriteErrorPermanent(t *testing.T) {
	srv, cli := newSide(), newSide()
	fc := &failConn{Conn: cli.io}
	var sni string
	scfg, ccfg := configs(t, tls.VersionTLS13, &sni)
	server, client := tls.Server(srv.io, scfg), tls.Client(fc, ccfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	shuttle(srv, cli, splitter{rng: newRNG(t), mean: 100}, stop, &wg)
	errs := make(chan error, 2)
	go func() { errs <- server.Handshake() }()
	go func() { errs <- client.Handshake() }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()

	fc.mu.Lock()
	fc.fail = true
	fc.mu.Unlock()
	_, err := client.Write([]byte("lost"))
	if err == nil {
		t.Fatal("Write over a failing connection succeeded")
	}
	fc.mu.Lock()
	fc.fail = false
	fc.mu.Unlock()
	_, err2 := client.Write([]byte("later"))
	if err2 == nil {
		t.Fatal("Write after a failed Write succeeded: crypto/tls no longer makes write errors permanent")
	}
	var ne net.Error
	if !errors.As(err2, &ne) || ne.Temporary() {
		t.Fatalf("later Write: %v; want a net.Error whose Temporary is false", err2)
	}
}

// TestManyRecords: thousands of records in one direction, fed in random
// splits, pass; crypto/tls sends no KeyUpdate of its own (go1.26 has no API
// that sends one, and only answers a peer's request in handleKeyUpdate),
// so the output carries application data records only. TestKeyUpdate
// makes one by hand.
func TestManyRecords(t *testing.T) {
	p := handshake(t, tls.VersionTLS13, splitter{rng: newRNG(t), mean: 100})
	p.srv.io.SetBlocking(false)
	p.cli.io.SetBlocking(false)
	var want []byte
	for i := range 3000 {
		m := message(1+i%20, byte(i))
		if _, err := p.client.Write(m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m...)
	}
	out := p.cli.io.Output()
	for off := 0; off < len(out); off += 5 + (int(out[off+3])<<8 | int(out[off+4])) {
		if out[off] != 23 {
			t.Fatalf("record of type %d in the client's output", out[off])
		}
	}
	if got := deliver(t, p.cli.io, p.srv.io, p.server, splitter{rng: newRNG(t), mean: 30}); !bytes.Equal(got, want) {
		t.Fatalf("server got %d bytes, want %d", len(got), len(want))
	}
}

// TestHandshakeContextCancel: a cancelled HandshakeContext closes the
// underlying connection (handshakeContext's context.AfterFunc calls
// c.conn.Close), which ends the blocked Read; the handshake returns the
// context's error and the loop side sees Closed.
func TestHandshakeContextCancel(t *testing.T) {
	srv := newSide()
	var sni string
	scfg, _ := configs(t, tls.VersionTLS13, &sni)
	server := tls.Server(srv.io, scfg)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := server.HandshakeContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("HandshakeContext: %v, want context.Canceled", err)
	}
	if !srv.io.Closed() {
		t.Fatal("the tlsio Conn is not closed after the cancelled handshake")
	}
}
