package http1

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"

	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// FuzzRequestView parses a request head and checks the view the server
// hands to handlers against the parser's message and, for origin-form
// targets, against net/url: Path and Query split the target, headers are
// found by any case, nothing is lost or invented.
func FuzzRequestView(f *testing.F) {
	for _, s := range []string{
		"GET /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		"GET http://h:80/p?q HTTP/1.1\r\nHost: h\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /?%zz HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		"GET http://h HTTP/1.1\r\nHost: h\r\nEmpty:\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var p parse.Parser
		n, err := p.Parse(in)
		if err != nil || n == 0 {
			return
		}
		m := p.Message()
		var r Request
		r.init(in[:n], &p)
		if !bytes.Equal(r.Method(), m.Method) || !bytes.Equal(r.Target(), m.Target) || !bytes.Equal(r.Host(), m.Host) {
			t.Fatalf("view differs from the message: %q %q %q", r.Method(), r.Target(), r.Host())
		}
		if r.NumHeaders() != len(m.Headers) {
			t.Fatalf("%d headers, parser %d", r.NumHeaders(), len(m.Headers))
		}
		for i, h := range m.Headers {
			name, value := r.HeaderAt(i)
			if !bytes.Equal(name, h.Name) || !bytes.Equal(value, h.Value) {
				t.Fatalf("header %d: %q: %q", i, name, value)
			}
			first := r.Header(string(bytes.ToUpper(h.Name)))
			if first == nil && len(h.Value) > 0 {
				t.Fatalf("header %q not found", h.Name)
			}
		}
		target := r.Target()
		path, query := r.Path(), r.Query()
		if len(target) > 0 && target[0] == '/' {
			joined := string(path)
			if query != nil {
				joined += "?" + string(query)
			}
			if joined != string(target) {
				t.Fatalf("path %q + query %q != target %q", path, query, target)
			}
			if u, err := url.ParseRequestURI(string(target)); err == nil && u.RawQuery != string(query) {
				t.Fatalf("query %q, net/url %q", query, u.RawQuery)
			}
		}
		if r.KeepAlive() != m.KeepAlive() {
			t.Fatalf("keep-alive %v, parser %v", r.KeepAlive(), m.KeepAlive())
		}
		_ = http.CanonicalHeaderKey(string(r.Method()))
	})
}
