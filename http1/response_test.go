package http1

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ioloop/ioloop"
)

// TestAddHeaderChecks: invalid and reserved fields are refused on every
// request, also once valid fields are remembered by the loop, and fields
// given as bytes are checked each time (the caller may change them).
func TestAddHeaderChecks(t *testing.T) {
	checkLeaks(t)
	var (
		mu   sync.Mutex
		errs []string
	)
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		mu.Lock()
		defer mu.Unlock()
		name := []byte("X-Bytes")
		for _, f := range []struct {
			name, value string
			want        error
		}{
			{name: "X-Ok", value: "v", want: nil},
			{name: "X-Ok", value: "v", want: nil},
			{name: "", value: "", want: ErrHeaderField},
			{name: "Bad Name", value: "v", want: ErrHeaderField},
			{name: "X-Ok", value: "a\r\nb", want: ErrHeaderField},
			{name: "content-length", value: "1", want: ErrHeaderField},
			{name: "Connection", value: "close", want: ErrHeaderField},
		} {
			if err := w.AddHeader(f.name, f.value); err != f.want {
				errs = append(errs, fmt.Sprintf("AddHeader(%q, %q) = %v, want %v", f.name, f.value, err, f.want))
			}
		}
		if err := w.AddHeaderBytes(name, []byte("1")); err != nil {
			errs = append(errs, fmt.Sprintf("AddHeaderBytes valid: %v", err))
		}
		name[1] = ' '
		if err := w.AddHeaderBytes(name, []byte("1")); err != ErrHeaderField {
			errs = append(errs, fmt.Sprintf("AddHeaderBytes after the name changed to %q: %v", name, err))
		}
		_, _ = w.WriteString("ok")
	})
	addr := serve(t, &Server{Handler: h}, ioloop.Options{Loops: 1})
	c := dial(t, addr)
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	got := readAll(t, c)
	if n := strings.Count(got, "\r\nX-Ok: v\r\nX-Ok: v\r\nX-Bytes: 1\r\n"); n != 2 {
		t.Fatalf("%d responses with the valid fields, want 2:\n%s", n, got)
	}
	if strings.Contains(got, "Bad Name") || strings.Contains(got, "X Bytes") {
		t.Fatalf("refused field sent:\n%s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
}
