package http1

import (
	"bytes"
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
// normalized.
const plaintextOK = "HTTP/1.1 200 OK\r\n" +
	"Server: ioloop\r\n" +
	"Date: X\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Length: 13\r\n" +
	"\r\n" +
	"Hello, World!"

// memServer runs one connection of a Server in memory on a real loop (for
// its clock and timers): its input and output are a memConn instead of a
// socket, so the per-connection request path runs without system calls.
type memServer struct {
	g  *ioloop.Group
	l  *ioloop.Loop
	cs *conn
}

func newMemServer(tb testing.TB, h Handler) *memServer {
	tb.Helper()
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Handler: h}
	s.init()
	m := &memServer{g: g, l: g.Loops()[0]}
	m.onLoop(func() {
		ls := s.loopState(m.l)
		ls.mem = &memConn{}
		m.cs = &conn{ls: ls, list: notListed}
		ls.refresh()
		m.cs.move(dlIdle, phIdle)
	})
	tb.Cleanup(func() {
		m.onLoop(func() {
			cs := m.cs
			cs.unlink()
			if cs.x != nil {
				cs.ls.putExchange(cs.x)
				cs.x = nil
			}
			if cs.p != nil {
				cs.ls.putParser(cs.p)
				cs.p = nil
			}
		})
		g.Close()
	})
	return m
}

// onLoop runs f on the loop and waits for it.
func (m *memServer) onLoop(f func()) {
	done := make(chan struct{})
	if err := m.l.Post(func() { defer close(done); f() }); err != nil {
		panic(err)
	}
	<-done
}

// feed delivers in as one callback's input (loop only) and returns the
// output gathered, valid until the next feed, and the input left.
func (m *memServer) feed(in []byte) (out []byte, rest int) {
	mc := m.cs.ls.mem
	mc.in, mc.out = in, mc.out[:0]
	m.cs.process()
	return mc.out, len(mc.in)
}

// TestMemServerPipelined checks the in-memory path the benchmark measures:
// a burst of 16 pipelined requests gives exactly 16 responses, in one
// gathered write, consumes the whole input, and allocates nothing once warm.
func TestMemServerPipelined(t *testing.T) {
	checkLeaks(t)
	m := newMemServer(t, testHandler{})
	burst := []byte(strings.Repeat(plaintextGET, 16))
	want := strings.Repeat(plaintextOK, 16)
	var allocs float64
	m.onLoop(func() {
		for i := range 3 {
			out, rest := m.feed(burst)
			if got := normalize(string(out)); got != want || rest != 0 {
				t.Errorf("burst %d: %d bytes left, output\n%q\nwant\n%q", i, rest, got, want)
				return
			}
		}
		// A burst split in the middle of a head: the first part's
		// complete requests are answered, the rest waits.
		cut := len(plaintextGET)*5 + 40
		mc := m.cs.ls.mem
		out, rest := m.feed(burst[:cut])
		if got := normalize(string(out)); got != strings.Repeat(plaintextOK, 5) || rest != 40 {
			t.Errorf("first part: %d bytes left, output %q", rest, got)
			return
		}
		mc.in = burst[cut-40:] // the connection keeps what was left
		mc.out = mc.out[:0]
		m.cs.process()
		if got := normalize(string(mc.out)); got != strings.Repeat(plaintextOK, 11) || len(mc.in) != 0 {
			t.Errorf("second part: %d bytes left, output %q", len(mc.in), got)
			return
		}
		allocs = testing.AllocsPerRun(100, func() { m.feed(burst) })
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 16-request burst, want 0", allocs)
	}
}

// BenchmarkServePipelined16 replays bursts of 16 pipelined plaintext
// requests through one connection's request path in memory (parse, handler,
// response head and body, gathered output) and reports the server's
// user-space cost per request, without system calls.
func BenchmarkServePipelined16(b *testing.B) { benchMem(b, testHandler{}, 16) }

// BenchmarkServeKeepAlive replays one plaintext request per callback.
func BenchmarkServeKeepAlive(b *testing.B) { benchMem(b, testHandler{}, 1) }

func benchMem(b *testing.B, h Handler, depth int) {
	m := newMemServer(b, h)
	burst := []byte(strings.Repeat(plaintextGET, depth))
	wantOut := len(plaintextOK) - len("X") + len("Mon, 02 Jan 2006 15:04:05 GMT")
	wantOut *= depth
	b.ReportAllocs()
	b.SetBytes(int64(len(burst)))
	var bad string
	var cpu time.Duration
	b.ResetTimer()
	m.onLoop(func() {
		start := threadCPU()
		for range b.N {
			out, rest := m.feed(burst)
			if len(out) != wantOut || rest != 0 {
				bad = normalize(string(out))
				return
			}
		}
		cpu = threadCPU() - start
	})
	b.StopTimer()
	if bad != "" {
		b.Fatalf("unexpected output %q", bad)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/req")
	if cpu > 0 {
		// The loop thread's CPU time: unlike the wall clock, it does not
		// count the time the thread waited for a CPU on a busy machine.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*depth), "cpu-ns/req")
	}
}

// TestHeadCache: the per-loop copy of the last usual 200 head is used only
// for a response with the same header lines and length; any other
// response (other lines of the same size, another length, another status,
// HEAD, HTTP/1.0) gets its own head, and a new Date line drops the copy.
func TestHeadCache(t *testing.T) {
	checkLeaks(t)
	m := newMemServer(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
		switch string(r.Path()) {
		case "/a":
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("abc")
		case "/b": // same lines, another length
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("abcd")
		case "/c": // lines of the same size, other bytes
			_ = w.AddHeader("Content-Type", "text/PLAIN")
			_, _ = w.WriteString("abc")
		case "/d":
			_ = w.SetStatus(404)
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("abc")
		case "/e":
			_ = w.AddHeader("Content-Type", "text/plain")
			_ = w.AddHeader("X-A", "1")
			_, _ = w.WriteString("abc")
		}
	}))
	const (
		head  = "HTTP/1.1 200 OK\r\nServer: ioloop\r\nDate: X\r\n"
		a     = head + "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
		b     = head + "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nabcd"
		c     = head + "Content-Type: text/PLAIN\r\nContent-Length: 3\r\n\r\nabc"
		d     = "HTTP/1.1 404 Not Found\r\nServer: ioloop\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
		e     = head + "Content-Type: text/plain\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc"
		headA = head + "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\n"
		a10   = head + "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc"
	)
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	steps := []struct{ req, want string }{
		{req: get("/a"), want: a},
		{req: get("/a"), want: a},
		{req: get("/b"), want: b},
		{req: get("/a"), want: a},
		{req: get("/c"), want: c},
		{req: get("/a") + get("/a"), want: a + a},
		{req: get("/d"), want: d},
		{req: get("/a"), want: a},
		{req: get("/e") + get("/e") + get("/a"), want: e + e + a},
		{req: "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n", want: headA},
		{req: get("/a"), want: a},
		{req: "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", want: a10},
		{req: get("/a"), want: a},
	}
	m.onLoop(func() {
		for i, st := range steps {
			out, rest := m.feed([]byte(st.req))
			if got := normalize(string(out)); got != st.want || rest != 0 {
				t.Errorf("step %d: %d bytes left, output\n%q\nwant\n%q", i, rest, got, st.want)
				return
			}
		}
		// A new second: the Date line changes and the kept head goes.
		ls := m.cs.ls
		if !ls.lastOK.valid {
			t.Error("no head kept after the usual responses")
		}
		ls.dateUntil = ls.now
		ls.dateLine()
		if ls.lastOK.valid {
			t.Error("the kept head outlived its Date line")
		}
	})
}

// TestSameBytes compares sameBytes with bytes.Equal for every length up to
// 40 and a difference at every position.
func TestSameBytes(t *testing.T) {
	for n := 0; n <= 40; n++ {
		a := []byte(strings.Repeat("Content-Type: text/plain\r\n", 2)[:n])
		if !sameBytes(a, append([]byte(nil), a...)) {
			t.Fatalf("length %d: equal bytes differ", n)
		}
		if n > 0 && sameBytes(a, a[:n-1]) {
			t.Fatalf("length %d: a shorter slice is the same", n)
		}
		for pos := range n {
			b := append([]byte(nil), a...)
			b[pos] ^= 0x20
			if sameBytes(a, b) != bytes.Equal(a, b) {
				t.Fatalf("length %d, change at %d: sameBytes %v", n, pos, sameBytes(a, b))
			}
		}
	}
}
