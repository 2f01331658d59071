package http1

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ioloop/ioloop"
)

// benchRoundTrips sends depth pipelined requests per round over one loopback
// connection and reads the responses; allocations are the whole process's,
// so they include the server's loop.
func benchRoundTrips(b *testing.B, h Handler, depth int) {
	addr := serve(b, &Server{Handler: h}, ioloop.Options{Loops: 1})
	c := dial(b, addr)
	req := strings.Repeat("GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n", depth)
	// Learn the response size (the Date line has a fixed length).
	if _, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	if err != nil || !bytes.HasSuffix(buf[:n], []byte("Hello, World!")) {
		b.Fatalf("first response %q %v", buf[:n], err)
	}
	respLen := n * depth
	reqb := []byte(req)
	rb := make([]byte, respLen)
	b.ReportAllocs()
	b.SetBytes(int64(len(reqb)))
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
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/req")
}

// BenchmarkNativePlaintext: one keep-alive request at a time (0 allocs per
// request).
func BenchmarkNativePlaintext(b *testing.B) { benchRoundTrips(b, testHandler{}, 1) }

// BenchmarkNativePipelined16: bursts of 16 pipelined requests.
func BenchmarkNativePipelined16(b *testing.B) { benchRoundTrips(b, testHandler{}, 16) }

// BenchmarkAdapterPlaintext: the same over the net/http adapter.
func BenchmarkAdapterPlaintext(b *testing.B) {
	h := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	}))
	benchRoundTrips(b, h, 1)
}

// TestNativeZeroAlloc asserts the served native path allocates nothing per
// request once warm (pipelined bursts over loopback, whole process counted).
func TestNativeZeroAlloc(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is measured outside -short")
	}
	res := testing.Benchmark(func(b *testing.B) { benchRoundTrips(b, testHandler{}, 16) })
	if a := res.AllocsPerOp(); a != 0 {
		t.Fatalf("%d allocations per 16-request burst, want 0", a)
	}
}
