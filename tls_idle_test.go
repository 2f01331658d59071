package ioloop_test

import (
	"bufio"
	"fmt"
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
