package main

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 4095, 4096, 1e6, 123456789, 1 << 40, 1<<45 - 1} {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d, below the previous bucket %d", v, i, prev)
		}
		prev = i
		if i == nBuckets-1 {
			continue
		}
		if lo, hi := lowOf(i), highOf(i); v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if v >= 128 && float64(highOf(i)-lowOf(i)+1)/float64(lowOf(i)) > 1.0/64+1e-9 {
			t.Fatalf("bucket %d of %d is wider than 1/64: [%d, %d]", i, v, lowOf(i), highOf(i))
		}
	}
	// Buckets tile the line: each starts right after the previous one.
	for i := 1; i < nBuckets-1; i++ {
		if lowOf(i) != highOf(i-1)+1 {
			t.Fatalf("gap between buckets %d and %d: %d, %d", i-1, i, highOf(i-1), lowOf(i))
		}
	}
}

func TestQuantile(t *testing.T) {
	var h hist
	for v := int64(1); v <= 100; v++ {
		h.add(v) // exact buckets below 128
	}
	counts := make([]uint64, nBuckets)
	for i, c := range h.counts {
		counts[i] = uint64(c)
	}
	for _, tc := range []struct {
		q    float64
		want float64
	}{{q: 0.5, want: 50}, {q: 0.9, want: 90}, {q: 0.99, want: 99}, {q: 1, want: 100}, {q: 0, want: 1}} {
		if got := quantile(counts, 100, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := quantile(counts, 0, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

func TestFillIsAFunctionOfConnAndSeq(t *testing.T) {
	a, b := make([]byte, 64), make([]byte, 64)
	fill(a, 3, 7)
	fill(b, 3, 7)
	if string(a) != string(b) {
		t.Fatal("same (conn, seq) gave different bytes")
	}
	seen := map[string]bool{}
	for id := 0; id < 4; id++ {
		for seq := uint64(0); seq < 64; seq++ {
			for _, size := range []int{1, 5, 8, 64} {
				m := make([]byte, size)
				fill(m, id, seq)
				if size >= 8 {
					key := string(m)
					if seen[key] {
						t.Fatalf("conn %d seq %d size %d repeats an earlier message", id, seq, size)
					}
					seen[key] = true
				}
			}
		}
	}
}

func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// checkLeaks fails the test if fds or goroutines outlive it.
func checkLeaks(t *testing.T) {
	t.Helper()
	fds, gs := fdCount(t), runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) && (fdCount(t) > fds || runtime.NumGoroutine() > gs) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := fdCount(t); n > fds {
			t.Errorf("fd leak: %d before, %d after", fds, n)
		}
		if n := runtime.NumGoroutine(); n > gs {
			t.Errorf("goroutine leak: %d before, %d after", gs, n)
		}
	})
}

// server runs handle on every connection of a 127.0.0.1 listener.
func server(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// echo copies c to itself with a plain read/write loop (io.Copy would
// splice through cached pipes, which the fd leak check would count).
func echo(c net.Conn) {
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func runWorker(t *testing.T, addr string, size, pipeline int, d time.Duration) *worker {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{id: 1, conn: c, size: size, pipeline: pipeline}
	start := make(chan struct{})
	end := time.Now().Add(d)
	close(start)
	w.run(start, &end)
	return w
}

func TestWorkerCountsVerifiedRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name           string
		size, pipeline int
	}{
		{name: "64B-1", size: 64, pipeline: 1},
		{name: "64B-16", size: 64, pipeline: 16},
		{name: "3B-5", size: 3, pipeline: 5},
		{name: "5000B-4", size: 5000, pipeline: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			addr := server(t, echo)
			w := runWorker(t, addr, tc.size, tc.pipeline, 200*time.Millisecond)
			if w.err != nil {
				t.Fatalf("error against a correct echo server: %v", w.err)
			}
			if w.ops == 0 {
				t.Fatal("no round trip counted")
			}
			var n uint64
			for _, c := range w.h.counts {
				n += uint64(c)
			}
			if n != w.ops {
				t.Fatalf("histogram holds %d samples, ops = %d", n, w.ops)
			}
		})
	}
}

func TestWorkerDetectsBadEcho(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(net.Conn)
	}{
		{name: "corrupt", handle: func(c net.Conn) {
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					buf[n-1] ^= 1
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}},
		{name: "drop-first-message", handle: func(c net.Conn) {
			if _, err := io.ReadFull(c, make([]byte, 64)); err != nil {
				return
			}
			echo(c)
		}},
		{name: "duplicate", handle: func(c net.Conn) {
			buf := make([]byte, 64)
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(append(buf, buf...)); err != nil {
					return
				}
			}
		}},
		{name: "close-early", handle: func(c net.Conn) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			addr := server(t, tc.handle)
			w := runWorker(t, addr, 64, 2, 2*time.Second)
			if w.err == nil {
				t.Fatalf("bad echo server not detected (%d ops)", w.ops)
			}
			if tc.name != "close-early" && !errors.Is(w.err, errMismatch) {
				t.Fatalf("err = %v, want errMismatch", w.err)
			}
		})
	}
}

func TestWorkerStopsAtWindowEndWithoutError(t *testing.T) {
	checkLeaks(t)
	// A server that never answers: the worker must stop at the window's
	// end, count nothing and report no error.
	addr := server(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	t0 := time.Now()
	w := runWorker(t, addr, 64, 1, 100*time.Millisecond)
	if w.err != nil || w.ops != 0 {
		t.Fatalf("silent server: err %v, ops %d; want nil, 0", w.err, w.ops)
	}
	if el := time.Since(t0); el > 5*time.Second {
		t.Fatalf("worker ran %v past a 100ms window", el)
	}
}

func BenchmarkWorkerRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); echo(c) }()
		}
	}()
	b.ReportAllocs()
	var h hist
	m, want := make([]byte, 64), make([]byte, 64)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fill(m, 1, uint64(i))
		t0 := time.Now()
		if _, err := c.Write(m); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, m); err != nil {
			b.Fatal(err)
		}
		fill(want, 1, uint64(i))
		if string(m) != string(want) {
			b.Fatal("mismatch")
		}
		h.add(int64(time.Since(t0)))
	}
}

func BenchmarkFillAndHist(b *testing.B) {
	b.ReportAllocs()
	var h hist
	m := make([]byte, 64)
	for i := 0; i < b.N; i++ {
		fill(m, 1, uint64(i))
		h.add(int64(i))
	}
}

// FuzzBucket checks that every latency lands in a bucket whose bounds hold
// it and that buckets keep the order of values.
func FuzzBucket(f *testing.F) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 256, 65535, 1e9, 1 << 40, 1<<63 - 1, 1<<64 - 1} {
		f.Add(v, v/2)
	}
	f.Fuzz(func(t *testing.T, v, w uint64) {
		i := bucketOf(v)
		if i < 0 || i >= nBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		if i < nBuckets-1 && (v < lowOf(i) || v > highOf(i)) {
			t.Fatalf("value %d outside its bucket %d = [%d, %d]", v, i, lowOf(i), highOf(i))
		}
		if v <= w && bucketOf(v) > bucketOf(w) {
			t.Fatalf("%d <= %d but bucket %d > %d", v, w, bucketOf(v), bucketOf(w))
		}
	})
}
