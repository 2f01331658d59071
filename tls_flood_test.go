package ioloop_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// floodClients is how many clients TestTLSHandshakeFlood starts at once:
// IOLOOP_TEST_FLOOD, or 1,000 (10,000 take long under -race on 2 CPUs;
// bench/RESULTS.md has a run with 10,000).
func floodClients() int {
	if n, err := strconv.Atoi(os.Getenv("IOLOOP_TEST_FLOOD")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// TestTLSHandshakeFlood: thousands of clients (in another process) start
// their handshakes at once. Every one is served through the bounded pool,
// and plain echo connections on the same loops keep answering meanwhile:
// the test measures their round trips before and during the flood and
// fails only on a stall no scheduler noise explains (the handshakes may
// use half the CPUs; a loop starved behind them would wait for seconds).
func TestTLSHandshakeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	checkLeaks(t)
	n := floodClients()
	g := newGroup(t, ioloop.Options{Loops: 2, MaxHandshakes: 256, HandshakeTimeout: time.Minute})
	ln, err := g.ListenTLS("tcp", "127.0.0.1:0", serverConfig(), newTLSEcho())
	if err != nil {
		t.Fatal(err)
	}
	echo, err := g.Listen("tcp", "127.0.0.1:0", newEcho())
	if err != nil {
		t.Fatal(err)
	}

	// Probes: one connection per loop, a 64-byte round trip at a time.
	var probes []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", echo.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		probes = append(probes, c)
	}
	measure := func(stop <-chan struct{}, d time.Duration) []time.Duration {
		var mu sync.Mutex
		var rtts []time.Duration
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for _, c := range probes {
			wg.Go(func() {
				msg, got := make([]byte, 64), make([]byte, 64)
				for time.Now().Before(deadline) {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					c.SetDeadline(time.Now().Add(30 * time.Second))
					if _, err := c.Write(msg); err != nil {
						t.Error(err)
						return
					}
					if _, err := io.ReadFull(c, got); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					rtts = append(rtts, time.Since(start))
					mu.Unlock()
					time.Sleep(2 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		slices.Sort(rtts)
		return rtts
	}
	before := measure(nil, 500*time.Millisecond)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHandshakeFlood$", "-test.v")
	cmd.Env = append(os.Environ(), "IOLOOP_FLOOD_ADDR="+ln.Addr().String(), "IOLOOP_FLOOD_N="+strconv.Itoa(n),
		"IOLOOP_FLOOD_CA="+string(testCert().CertPEM))
	out := make(chan []byte, 1)
	start := time.Now()
	go func() {
		b, err := cmd.CombinedOutput()
		if err != nil {
			b = append(b, []byte(err.Error())...)
		}
		out <- b
	}()
	stop := make(chan struct{})
	during := make(chan []time.Duration, 1)
	go func() { during <- measure(stop, 10*time.Minute) }()
	b := <-out
	elapsed := time.Since(start)
	close(stop)
	rtts := <-during
	if !slices.Contains([]string{fmt.Sprintf("flood: %d served", n)}, lastLine(b)) {
		t.Fatalf("flood clients:\n%s", b)
	}
	s := g.TLSStats()
	t.Logf("%d handshakes in %v (%+v); echo round trips before: %d, p50 %v p99 %v max %v; during: %d, p50 %v p99 %v max %v",
		n, elapsed.Round(time.Millisecond), s, len(before), pct(before, 50), pct(before, 99), pct(before, 100),
		len(rtts), pct(rtts, 50), pct(rtts, 99), pct(rtts, 100))
	if s.Handshakes != uint64(n) || s.HandshakeErrors != 0 || s.HandshakeTimeouts != 0 {
		t.Fatalf("stats %+v, want %d handshakes and no failure", s, n)
	}
	if len(rtts) < 10 {
		t.Fatalf("only %d echo round trips during the flood", len(rtts))
	}
	if p99 := pct(rtts, 99); p99 > time.Second {
		t.Fatalf("echo p99 during the flood %v: a loop stalled behind the handshakes", p99)
	}
}

// TestHelperHandshakeFlood is the flood's client process (see
// TestTLSHandshakeFlood): it starts every handshake at once, echoes a byte
// on each connection, and prints how many were served.
func TestHelperHandshakeFlood(t *testing.T) {
	addr := os.Getenv("IOLOOP_FLOOD_ADDR")
	n, _ := strconv.Atoi(os.Getenv("IOLOOP_FLOOD_N"))
	if addr == "" || n == 0 {
		t.Skip("the client side of TestTLSHandshakeFlood")
	}
	cfg := clientConfig(tls.VersionTLS13)
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM([]byte(os.Getenv("IOLOOP_FLOOD_CA"))) {
		t.Fatal("no CA certificate in IOLOOP_FLOOD_CA")
	}
	if os.Getenv("IOLOOP_FLOOD_X25519") != "" { // a ClientHello like OpenSSL 3.0's: no post-quantum key share
		cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	var served atomic.Int64
	var wg sync.WaitGroup
	release, hold := make(chan struct{}), make(chan struct{})
	if os.Getenv("IOLOOP_FLOOD_HOLD") == "" {
		close(hold)
	}
	d := &net.Dialer{Timeout: time.Minute}
	for range n {
		wg.Go(func() {
			<-release
			var c net.Conn
			var err error
			if os.Getenv("IOLOOP_FLOOD_PLAIN") != "" {
				c, err = d.Dial("tcp", addr)
			} else {
				c, err = tls.DialWithDialer(d, "tcp", addr, cfg)
			}
			if err != nil {
				t.Log(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			b := []byte{'x'}
			if _, err := c.Write(b); err != nil {
				t.Log(err)
				return
			}
			if _, err := io.ReadFull(c, b); err != nil {
				t.Log(err)
				return
			}
			served.Add(1)
			<-hold
		})
	}
	close(release)
	if os.Getenv("IOLOOP_FLOOD_HOLD") != "" { // TestTLSIdleMemory
		for served.Load() < int64(n) {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Printf("flood: %d served\n", served.Load())
		io.Copy(io.Discard, os.Stdin) // hold them until the parent closes stdin
		close(hold)
		wg.Wait()
		return
	}
	wg.Wait()
	fmt.Printf("flood: %d served\n", served.Load())
}

func lastLine(b []byte) string {
	for _, l := range slices.Backward(splitLines(b)) {
		if len(l) > 0 && l[0] == 'f' {
			return l
		}
	}
	return ""
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return append(out, string(b[start:]))
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}
