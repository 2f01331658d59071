package tlsio

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

const testHost = "example.test"

var (
	certOnce sync.Once
	testCert tls.Certificate
	testPool *x509.CertPool
)

// certificate returns an ECDSA P-256 self-signed certificate for testHost,
// made once per test binary.
func certificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: testHost},
			DNSNames:              []string{testHost},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		testPool = x509.NewCertPool()
		testPool.AddCert(leaf)
	})
	return testCert, testPool
}

// configs returns a server and a client config limited to version, with
// ALPN on both sides and the certificate chosen by SNI in GetCertificate,
// which records the server name it saw in *sni.
func configs(t testing.TB, version uint16, sni *string) (server, client *tls.Config) {
	cert, pool := certificate(t)
	var mu sync.Mutex
	server = &tls.Config{
		MinVersion: version,
		MaxVersion: version,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			mu.Lock()
			*sni = hello.ServerName
			mu.Unlock()
			if hello.ServerName != testHost {
				return nil, errors.New("unknown server name " + hello.ServerName)
			}
			return &cert, nil
		},
	}
	client = &tls.Config{
		MinVersion: version,
		MaxVersion: version,
		ServerName: testHost,
		RootCAs:    pool,
		NextProtos: []string{"http/1.1"},
	}
	return server, client
}

// splitter returns chunk sizes for moving n pending bytes: one byte at a
// time (rng nil) or random sizes from 1 to 2*mean.
// With a pattern, the sizes are the pattern's bytes plus one, in turn.
type splitter struct {
	rng     *mrand.Rand
	mean    int
	pattern []byte
	at      *int
	whole   bool // everything in one chunk
}

func (s splitter) next(n int) int {
	if s.whole {
		return n
	}
	if len(s.pattern) > 0 {
		k := int(s.pattern[*s.at%len(s.pattern)]) + 1
		*s.at++
		return min(n, k)
	}
	if s.rng == nil || n <= 1 {
		return min(n, 1)
	}
	return min(n, 1+s.rng.IntN(2*s.mean))
}

func newRNG(t testing.TB) *mrand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random splits: seed %d", seed)
	return mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// side is one end of an in-memory connection: the tlsio Conn and the wake
// channel its wake function signals.
type side struct {
	io   *Conn
	wake chan struct{}
}

func newSide() *side {
	s := &side{wake: make(chan struct{}, 1)}
	s.io = New(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}, 0, func() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	})
	return s
}

// move feeds what from's output holds into to, in chunks chosen by sp, and
// reports whether it moved anything.
func move(from, to *Conn, sp splitter) bool {
	moved := false
	for {
		out := from.Output()
		if len(out) == 0 {
			return moved
		}
		n := to.Feed(out[:sp.next(len(out))])
		from.Consume(n)
		if n == 0 {
			return moved
		}
		moved = true
	}
}

// shuttle moves bytes both ways between a and b until stop is closed,
// waking on either side's wake function.
func shuttle(a, b *side, sp splitter, stop <-chan struct{}, done *sync.WaitGroup) {
	done.Go(func() {
		for {
			move(a.io, b.io, sp)
			move(b.io, a.io, sp)
			select {
			case <-stop:
				return
			case <-a.wake:
			case <-b.wake:
			case <-time.After(10 * time.Millisecond): // a short Feed frees no room here: retry
			}
		}
	})
}

// pair is an established TLS connection over two tlsio Conns.
type pair struct {
	srv, cli       *side
	server, client *tls.Conn
	sni            string
}

// handshake runs both handshakes in blocking mode over a shuttle that moves
// bytes in chunks chosen by sp, and returns the pair with the shuttle
// stopped and output drained.
func handshake(t testing.TB, version uint16, sp splitter) *pair {
	t.Helper()
	p := &pair{srv: newSide(), cli: newSide()}
	scfg, ccfg := configs(t, version, &p.sni)
	p.server = tls.Server(p.srv.io, scfg)
	p.client = tls.Client(p.cli.io, ccfg)
	deadline := time.Now().Add(10 * time.Second)
	p.srv.io.SetReadDeadline(deadline)
	p.cli.io.SetReadDeadline(deadline)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	shuttle(p.srv, p.cli, sp, stop, &wg)
	errs := make(chan error, 2)
	go func() { errs <- p.server.Handshake() }()
	go func() { errs <- p.client.Handshake() }()
	for range 2 {
		if err := <-errs; err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("handshake: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	// Move the rest (the shuttle may have stopped inside a record), so that
	// each output starts at a record boundary.
	move(p.srv.io, p.cli.io, splitter{})
	move(p.cli.io, p.srv.io, splitter{})
	p.srv.io.SetReadDeadline(time.Time{})
	p.cli.io.SetReadDeadline(time.Time{})
	return p
}

// recordEnds returns the offsets in b at which a TLS record ends.
func recordEnds(t testing.TB, b []byte) []int {
	t.Helper()
	var ends []int
	for off := 0; off < len(b); {
		if len(b)-off < 5 {
			t.Fatalf("output ends inside a record header at %d of %d", off, len(b))
		}
		off += 5 + (int(b[off+3])<<8 | int(b[off+4]))
		if off > len(b) {
			t.Fatalf("output ends inside a record")
		}
		ends = append(ends, off)
	}
	return ends
}

// deliver moves everything from's output holds into to in chunks chosen by
// sp and calls tc.Read after every Feed until it returns ErrWouldBlock. It
// checks that a Read returns data only when the Feed completed a record,
// that no Read returns (0, nil) or an error other than ErrWouldBlock, and
// returns the plaintext.
func deliver(t testing.TB, from, to *Conn, tc *tls.Conn, sp splitter) []byte {
	t.Helper()
	out := bytes.Clone(from.Output())
	from.Consume(len(out))
	ends := recordEnds(t, out)
	var got []byte
	buf := make([]byte, 4096)
	fed := 0
	for fed < len(out) {
		k := sp.next(len(out) - fed)
		if n := to.Feed(out[fed : fed+k]); n != k {
			t.Fatalf("Feed took %d of %d", n, k)
		}
		completes := false
		for len(ends) > 0 && ends[0] <= fed+k {
			completes = true
			ends = ends[1:]
		}
		fed += k
		for {
			n, err := tc.Read(buf)
			got = append(got, buf[:n]...)
			if n > 0 && !completes {
				t.Fatalf("Read returned %d bytes after a Feed that completed no record (fed %d)", n, fed)
			}
			if err == ErrWouldBlock {
				break
			}
			if err != nil {
				t.Fatalf("Read after %d of %d bytes: %v", fed, len(out), err)
			}
			if n == 0 {
				t.Fatal("Read returned 0, nil")
			}
		}
	}
	return got
}

// message returns n pseudo-random bytes that differ per call.
func message(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ salt ^ byte(i>>8)
	}
	return b
}

// buffered returns how many fed bytes crypto/tls has not read yet.
func (c *Conn) buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.in) - c.r
}
