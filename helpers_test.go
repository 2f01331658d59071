package ioloop_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/leaktest"
)

// checkLeaks fails the test if goroutines or descriptors it opened are
// still there once it ended.
func checkLeaks(t *testing.T) { leaktest.Check(t) }

// testIOUring runs the tests with Options.IOUring on
// (IOLOOP_TEST_IOURING=1; .ci/run runs this package both ways).
var testIOUring = os.Getenv("IOLOOP_TEST_IOURING") == "1"

// newGroup starts a group closed at the end of the test.
func newGroup(t *testing.T, o ioloop.Options) *ioloop.Group {
	t.Helper()
	if testIOUring {
		o.IOUring = true
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	g, err := ioloop.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// testLogger sends the loop's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.msgs == nil {
		h.msgs = map[string]int{}
	}
	h.msgs[r.Message]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for m, c := range h.msgs {
		if strings.HasPrefix(m, prefix) {
			n += c
		}
	}
	return n
}

// echoHandler writes back what it reads and records how each connection
// closed.
type echoHandler struct {
	ioloop.BaseHandler
	mu     sync.Mutex
	opens  int
	closes map[*ioloop.Conn]int
	errs   []error
	closed chan error
}

func newEcho() *echoHandler {
	return &echoHandler{closes: map[*ioloop.Conn]int{}, closed: make(chan error, 100000)}
}

func (h *echoHandler) OnOpen(c *ioloop.Conn) {
	h.mu.Lock()
	h.opens++
	h.mu.Unlock()
}

func (h *echoHandler) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	if _, err := c.Write(b); err != nil {
		panic("echo write: " + err.Error())
	}
}

func (h *echoHandler) OnClose(c *ioloop.Conn, err error) {
	h.mu.Lock()
	h.closes[c]++
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	h.closed <- err
}

// waitCloses waits for n OnClose calls.
func (h *echoHandler) waitCloses(t *testing.T, n int) []error {
	t.Helper()
	var errs []error
	timeout := time.After(20 * time.Second)
	for len(errs) < n {
		select {
		case err := <-h.closed:
			errs = append(errs, err)
		case <-timeout:
			t.Fatalf("only %d of %d connections closed", len(errs), n)
		}
	}
	return errs
}

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: got %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
	}
}

// collector hands every input to a channel.
type collector struct {
	ioloop.BaseHandler
	got chan []byte
}

func (h *collector) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	h.got <- append([]byte(nil), b...)
}

type openNotifier struct {
	*echoHandler
	conns chan *ioloop.Conn
}

func (h *openNotifier) OnOpen(c *ioloop.Conn) { h.echoHandler.OnOpen(c); h.conns <- c }
