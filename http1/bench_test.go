package http1

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// plaintextGET is the request of the TechEmpower plaintext test as a wrk
// load generator sends it, with a User-Agent line added as browsers and
// most tools send one.
const plaintextGET = "GET /plaintext HTTP/1.1\r\n" +
	"Host: 127.0.0.1:8080\r\n" +
	"User-Agent: wrk/4.2.0\r\n" +
	"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

// plaintextOK is the server's answer to plaintextGET, with the Date line
// normalized (see normalize).
const plaintextOK = "HTTP/1.1 200 OK\r\n" +
	"Server: ioloop\r\n" +
	"Date: X\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Length: 13\r\n" +
	"\r\n" +
	"Hello, World!"

// dateLen is how much longer a real Date line is than normalize's.
const dateLen = len("Mon, 02 Jan 2006 15:04:05 GMT") - len("X")

// rawLen returns the length on the wire of the normalized response want.
func rawLen(want string) int { return len(want) + strings.Count(want, "Date: X\r\n")*dateLen }

// onLoop runs f on l and waits for it.
func onLoop(tb testing.TB, l *ioloop.Loop, f func()) {
	tb.Helper()
	done := make(chan struct{})
	if err := l.Post(func() { defer close(done); f() }); err != nil {
		tb.Fatal(err)
	}
	<-done
}

// serverLoop returns the one loop s has served a connection on.
func serverLoop(tb testing.TB, s *Server) (*ioloop.Loop, *loopState) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.loops) != 1 {
		tb.Fatalf("server on %d loops, want 1", len(s.loops))
	}
	for l, ls := range s.loops {
		return l, ls
	}
	return nil, nil
}

// benchRoundTrips sends depth pipelined plaintextGET requests per round over
// one loopback connection to a server on one loop and reads the responses:
// the real request path, system calls included. It reports the wall time
// per request (the client's work and the round trip included), the CPU time
// of the server loop's thread per request (loop-cpu-ns/req: user and
// system time of the request path and its reads and writes, not counting
// time spent waiting for a CPU on a busy machine), and the allocations of
// the whole process, the server's loop included.
func benchRoundTrips(b *testing.B, h Handler, depth int) {
	s := &Server{Handler: h}
	addr := serve(b, s, ioloop.Options{Loops: 1, LockOSThread: true})
	c := dial(b, addr)
	reqb := []byte(strings.Repeat(plaintextGET, depth))
	// Learn the response size (the Date line has a fixed length).
	if _, err := io.WriteString(c, plaintextGET); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	if err != nil || !bytes.HasSuffix(buf[:n], []byte("Hello, World!")) {
		b.Fatalf("first response %q %v", buf[:n], err)
	}
	rb := make([]byte, n*depth)
	l, _ := serverLoop(b, s)
	var start, cpu time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(len(reqb)))
	onLoop(b, l, func() { start = threadCPU() })
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(reqb); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, rb); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	onLoop(b, l, func() { cpu = threadCPU() - start })
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/req")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*depth), "loop-cpu-ns/req")
	}
}

// BenchmarkNativePlaintext: one keep-alive request at a time.
func BenchmarkNativePlaintext(b *testing.B) { benchRoundTrips(b, testHandler{}, 1) }

// BenchmarkNativePipelined16: bursts of 16 pipelined requests, answered
// with one write per burst.
func BenchmarkNativePipelined16(b *testing.B) { benchRoundTrips(b, testHandler{}, 16) }

// BenchmarkAdapterPlaintext: one keep-alive request at a time over the
// net/http adapter.
func BenchmarkAdapterPlaintext(b *testing.B) {
	h := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	}))
	benchRoundTrips(b, h, 1)
}

// TestNativeZeroAlloc asserts the served native path allocates nothing per
// request once warm, one request at a time and in pipelined bursts of 16
// (over loopback, the whole process counted).
func TestNativeZeroAlloc(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is measured outside -short")
	}
	for _, depth := range []int{1, 16} {
		res := testing.Benchmark(func(b *testing.B) { benchRoundTrips(b, testHandler{}, depth) })
		if res.N == 0 {
			t.Fatalf("depth %d: the benchmark failed", depth)
		}
		if a := res.AllocsPerOp(); a != 0 {
			t.Fatalf("%d allocations per round of %d requests, want 0", a, depth)
		}
	}
}

// TestPipelinedBurst: bursts of 16 pipelined plaintextGET requests get
// exactly 16 responses each, byte for byte, and nothing more.
func TestPipelinedBurst(t *testing.T) {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{Loops: 1})
	c := dial(t, addr)
	burst := strings.Repeat(plaintextGET, 16)
	want := strings.Repeat(plaintextOK, 16)
	rb := make([]byte, rawLen(want))
	for i := range 3 {
		if _, err := io.WriteString(c, burst); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, rb); err != nil {
			t.Fatalf("burst %d: %v", i, err)
		}
		if got := normalize(string(rb)); got != want {
			t.Fatalf("burst %d:\n%q\nwant\n%q", i, got, want)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := c.Read(rb); n != 0 {
		t.Fatalf("extra bytes after the bursts: %q", rb[:n])
	}
}
