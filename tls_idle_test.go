package ioloop_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestTLSIdleMemory measures what an idle TLS connection costs the server's
// Go heap: IOLOOP_TEST_IDLE connections (from another process), each past
// its handshake and one echo, then idle. It is a measurement, run by hand
// (bench/RESULTS.md has the figures); it fails only when an idle
// connection holds a goroutine.
func TestTLSIdleMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IOLOOP_TEST_IDLE"))
	if n <= 0 {
		t.Skip("a measurement: set IOLOOP_TEST_IDLE=10000")
	}
	if os.Getenv("IOLOOP_TEST_IDLE_PROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact account
	}
	for _, tlsOn := range []bool{false, true} {
		g := newGroup(t, ioloop.Options{Loops: 1, HandshakeTimeout: time.Minute})
		listen := g.Listen
		if tlsOn {
			listen = func(network, address string, h ioloop.Handler) (*ioloop.Listener, error) {
				return g.ListenTLS(network, address, serverConfig(), h)
			}
		}
		ln, err := listen("tcp", "127.0.0.1:0", newEcho())
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		heap0, gor0 := heapInUse(), runtime.NumGoroutine()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHandshakeFlood$")
		cmd.Env = append(os.Environ(), "IOLOOP_FLOOD_ADDR="+addr, "IOLOOP_FLOOD_N="+strconv.Itoa(n),
			"IOLOOP_FLOOD_CA="+string(testCert().CertPEM), "IOLOOP_FLOOD_HOLD=1")
		if !tlsOn {
			cmd.Env = append(cmd.Env, "IOLOOP_FLOOD_PLAIN=1")
		}
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), "flood:") {
		}
		if sc.Text() != fmt.Sprintf("flood: %d served", n) {
			t.Fatalf("clients: %q", sc.Text())
		}
		time.Sleep(500 * time.Millisecond)
		heap1, gor1 := heapInUse(), runtime.NumGoroutine()
		if f := os.Getenv("IOLOOP_TEST_IDLE_PROFILE"); f != "" && tlsOn {
			w, err := os.Create(f)
			if err != nil {
				t.Fatal(err)
			}
			pprof.WriteHeapProfile(w)
			w.Close()
		}
		t.Logf("TLS %v: %d idle connections: Go heap %.0f B per connection; goroutines %d -> %d",
			tlsOn, n, float64(heap1-heap0)/float64(n), gor0, gor1)
		if gor1-gor0 > 16 {
			t.Errorf("%d more goroutines with %d idle connections", gor1-gor0, n)
		}
		stdin.Close()
		cmd.Wait()
		g.Close()
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// TestTLSIdleHoldsNoBuffer: a TLS connection that echoed a large message
// (several records, incomplete ones at the ends of reads, output above
// the water marks) and then turned idle holds no buffer of ioloop's and
// no goroutine.
func TestTLSIdleHoldsNoBuffer(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	conns := make(chan *ioloop.Conn, 1)
	h := &openNotify{tlsEcho: newTLSEcho(), opened: conns}
	addr := listenTLS(t, g, h)
	before := runtime.NumGoroutine()
	c, err := tls.Dial("tcp", addr, clientConfig(tls.VersionTLS13))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %v", err)
	}
	sc := <-conns
	if n := ioloop.IdleBuffers(sc); n != 0 {
		t.Fatalf("an idle TLS connection holds %d bytes of buffers", n)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines with an idle TLS connection, %d before", after, before)
	}
}

// openNotify is tlsEcho that hands over each connection it opens.
type openNotify struct {
	*tlsEcho
	opened chan *ioloop.Conn
}

func (h *openNotify) OnOpen(c *ioloop.Conn) {
	h.tlsEcho.OnOpen(c)
	select {
	case h.opened <- c:
	default:
	}
}
