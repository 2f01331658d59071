package http1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/leaktest"
)

func TestMain(m *testing.M) {
	async.DefaultPool() // its workers live for the process: start them before any leak baseline
	os.Exit(m.Run())
}

// checkLeaks records the goroutines and descriptors now and, when the test
// ends (after the cleanups registered later), fails if they did not come back.
func checkLeaks(t testing.TB) {
	t.Helper()
	leaktest.Check(t, http.DefaultTransport.(*http.Transport).CloseIdleConnections)
}

// testIOUring runs the servers and clients of the tests with
// Options.IOUring on (IOLOOP_TEST_IOURING=1; .ci/run runs the tests both
// ways).
var testIOUring = os.Getenv("IOLOOP_TEST_IOURING") == "1"

// serve starts s on a new group listening on 127.0.0.1:0 and stops both at
// the end of the test.
func serve(t testing.TB, s *Server, o ioloop.Options) string {
	t.Helper()
	if o.Loops == 0 {
		o.Loops = 2
	}
	o.IOUring = o.IOUring || testIOUring
	g, err := ioloop.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		g.Close()
	})
	return ln.Addr().String()
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// readAll reads until the server closes the connection.
func readAll(t testing.TB, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	return string(b)
}

var dateRE = regexp.MustCompile(`Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n`)

// normalize replaces every Date line with a fixed one.
func normalize(s string) string {
	return dateRE.ReplaceAllString(s, "Date: X\r\n")
}

// readResponse reads one response and its whole body.
func readResponse(t testing.TB, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(body)
}

// expectClosed checks that the server closes c without sending more.
func expectClosed(t testing.TB, br *bufio.Reader) {
	t.Helper()
	rest, err := io.ReadAll(br)
	if err != nil && !isReset(err) {
		t.Fatalf("waiting for close: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("unexpected bytes before close: %q", rest)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return err != nil && (bytes.Contains([]byte(err.Error()), []byte("reset")) || asOp(err, &ne))
}

func asOp(err error, ne **net.OpError) bool {
	e, ok := err.(*net.OpError)
	if ok {
		*ne = e
	}
	return ok
}

// testHandler is the handler of the command's routes.
type testHandler struct{}

func (testHandler) ServeHTTP1(w *ResponseWriter, r *Request) {
	switch string(r.Path()) {
	case "/plaintext":
		_ = w.AddHeader("Content-Type", "text/plain")
		_, _ = w.WriteString("Hello, World!")
	case "/json":
		_ = w.AddHeader("Content-Type", "application/json")
		_, _ = w.WriteString(`{"message":"Hello, World!"}`)
	case "/echo":
		if r.Chunked() {
			_ = w.Flush()
		} else if n := r.ContentLength(); n >= 0 {
			_ = w.SetContentLength(n)
		}
		r.ReadBody(echoBody{})
	case "/sink":
		r.ReadBody(&sinkBody{})
	default:
		_ = w.SetStatus(404)
		_, _ = w.WriteString("not found\n")
	}
}

type echoBody struct{}

func (echoBody) OnBody(w *ResponseWriter, r *Request, chunk []byte, last bool) {
	_, _ = w.Write(chunk)
	if last {
		for i := range r.NumTrailers() {
			_ = w.AddTrailerBytes(r.TrailerAt(i))
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sinkBody counts the body and answers with the count at its end.
type sinkBody struct{ n int }

func (s *sinkBody) OnBody(w *ResponseWriter, r *Request, chunk []byte, last bool) {
	s.n += len(chunk)
	if last {
		_, _ = fmt.Fprintf(w, "%d", s.n)
	}
}

func httpReadResponse(br *bufio.Reader) (*http.Response, error) {
	return http.ReadResponse(br, &http.Request{Method: "POST"})
}
