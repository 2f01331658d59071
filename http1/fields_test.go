package http1

import (
	"fmt"
	"testing"

	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// parsedFields parses a response head and returns its bytes and fields.
func parsedFields(t *testing.T, head string) ([]byte, []parse.Header) {
	t.Helper()
	var p parse.Parser
	p.Init(parse.Response, parse.Limits{})
	b := []byte(head)
	n, err := p.Parse(b)
	if err != nil || n != len(b) {
		t.Fatalf("parse: %d of %d, %v", n, len(b), err)
	}
	return b, p.Message().Headers
}

func viewString(v *fieldView) string {
	s := ""
	for i := range v.n() {
		n, val := v.at(i)
		s += fmt.Sprintf("%s=%s;", n, val)
	}
	return s
}

// TestFieldView: the three ways to fill a view (in place, over a copy of
// the head, copying the fields) read back the same fields, in order, with
// lookups that ignore case, find the first duplicate, and return capped
// slices; reset and truncate empty it.
func TestFieldView(t *testing.T) {
	b, hs := parsedFields(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Dup: 1\r\nx-dup: 2\r\nEmpty:\r\nContent-Length: 0\r\n\r\n")
	const want = "Content-Type=text/plain;X-Dup=1;x-dup=2;Empty=;Content-Length=0;"
	var inPlace, overCopy, copied fieldView
	inPlace.set(b, b, hs)
	overCopy.set(append([]byte(nil), b...), b, hs)
	copied.copyIn(hs)
	for name, v := range map[string]*fieldView{"in place": &inPlace, "over a copy": &overCopy, "copied": &copied} {
		if got := viewString(v); got != want {
			t.Fatalf("%s: %q, want %q", name, got, want)
		}
		for _, st := range []struct{ name, want string }{
			{name: "content-type", want: "text/plain"},
			{name: "X-DUP", want: "1"},
			{name: "Content-Typ", want: "<nil>"},
			{name: "Missing", want: "<nil>"},
		} {
			got := "<nil>"
			if v := v.get(st.name); v != nil {
				got = string(v)
			}
			if got != st.want {
				t.Fatalf("%s: get(%q) = %q, want %q", name, st.name, got, st.want)
			}
		}
		if v := v.get("Empty"); v == nil || len(v) != 0 {
			t.Fatalf("%s: an empty value reads as %q (nil %v)", name, v, v == nil)
		}
		n, val := v.at(0)
		if cap(n) != len(n) || cap(val) != len(val) || cap(v.get("X-Dup")) != 1 {
			t.Fatalf("%s: slices not capped", name)
		}
	}
	if &overCopy.buf[0] == &b[0] {
		t.Fatal("the view over a copy points into the original")
	}

	copied.truncate()
	inPlace.reset()
	if copied.n() != 0 || inPlace.n() != 0 || inPlace.buf != nil || copied.get("X-Dup") != nil {
		t.Fatal("emptied views still show fields")
	}
	// Reused: no allocation once the storage has grown.
	allocs := testing.AllocsPerRun(100, func() {
		copied.copyIn(hs)
		overCopy.set(overCopy.buf, b, hs)
		_ = copied.get("content-length")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per reuse, want 0", allocs)
	}
}
