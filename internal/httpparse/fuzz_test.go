package httpparse

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
)

var fuzzSeeds = []string{
	typicalGET,
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n0\r\nT: 1\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
}

// addCorpusSeeds adds the llhttp corpus inputs when it is present.
func addCorpusSeeds(f *testing.F, add func([]byte)) {
	for _, name := range []string{"llhttp-requests.json", "llhttp-responses.json"} {
		if _, err := os.Stat(filepath.Join(corpusDir, name)); err != nil {
			continue
		}
		for _, c := range loadCorpus(f, name) {
			add(decode(f, c.Raw))
			if c.RawHost != "" {
				add(decode(f, c.RawHost))
			}
		}
	}
}

// FuzzParse checks that the result does not depend on how the input is
// split: whole, cut at two points chosen by the fuzzer, and one byte at a
// time give the same messages, bodies and error.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint16(len(s)/3), uint16(len(s)/2), s[0] == 'H')
	}
	addCorpusSeeds(f, func(b []byte) { f.Add(b, uint16(len(b)/2), uint16(len(b)-1), b[0] == 'H') })
	lim := Limits{MaxRequestLine: 300, MaxHeaderBytes: 700, MaxHeaders: 12, MaxChunkLine: 40, MaxBodyBytes: 500}
	f.Fuzz(func(t *testing.T, data []byte, c1, c2 uint16, resp bool) {
		if len(data) > 2048 {
			return
		}
		mode := Request
		if resp {
			mode = Response
		}
		a, b := int(c1)%(len(data)+1), int(c2)%(len(data)+1)
		if a > b {
			a, b = b, a
		}
		for _, l := range []Limits{{}, lim} {
			whole := drive(mode, l, [][]byte{data}, false)
			cut := drive(mode, l, [][]byte{data[:a], data[a:b], data[b:]}, false)
			if !sameResult(whole, cut) {
				t.Fatalf("cut at %d,%d differs:\nwhole: %v\ncut: %v", a, b, whole, cut)
			}
			bytewise := drive(mode, l, splits(data)["bytes"], false)
			if !sameResult(whole, bytewise) {
				t.Fatalf("byte at a time differs:\nwhole: %v\nbytes: %v", whole, bytewise)
			}
			for _, m := range whole.Msgs {
				for _, h := range append(append([][2]string{}, m.Headers...), m.Trailers...) {
					if h[0] == "" || bytes.ContainsAny([]byte(h[0]), " \t\r\n:") || bytes.ContainsAny([]byte(h[1]), "\r\n\x00") {
						t.Fatalf("bad field %q accepted", h)
					}
				}
				if m.Framing == BodyLength && m.Complete && int64(len(m.Body)) != mustCL(m) {
					t.Fatalf("body %d bytes, Content-Length says otherwise: %v", len(m.Body), whole)
				}
			}
		}
	})
}

func mustCL(m msgResult) int64 {
	for _, h := range m.Headers {
		if eqFold([]byte(h[0]), "content-length") {
			var n int64
			for _, c := range h[1] {
				n = n*10 + int64(c-'0')
			}
			return n
		}
	}
	return -1
}

// FuzzNetHTTP compares the first request with net/http's reader: when both
// accept it, method, target, header fields, body and keep-alive agree.
//
// Known differences, where only one side accepts (not compared): net/http
// accepts obs-fold, bare LF line ends, repeated identical Content-Length,
// Transfer-Encoding with Content-Length (it drops Content-Length), a
// missing Host on HTTP/1.1 is accepted by ReadRequest (the server rejects
// it later), and it rejects every transfer coding but chunked. net/http
// moves Host and Transfer-Encoding out of Header; those are compared
// through Request.Host and the framing.
func FuzzNetHTTP(f *testing.F) {
	for _, s := range fuzzSeeds[:4] {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f, func(b []byte) {
		if !bytes.HasPrefix(b, []byte("HTTP/")) {
			f.Add(b)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) { compareNetHTTP(t, data) })
}

// compareNetHTTP runs one differential comparison and reports whether both
// sides accepted the first request (so that it was compared).
func compareNetHTTP(t testing.TB, data []byte) bool {
	ours := drive(Request, Limits{}, [][]byte{data}, true)
	if len(ours.Msgs) == 0 || !ours.Msgs[0].Complete || ours.Msgs[0].Method == "CONNECT" {
		return false
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return false
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return false
	}
	{
		m := ours.Msgs[0]
		if req.Method != m.Method || req.RequestURI != m.Target {
			t.Fatalf("request line: net/http %q %q, ours %q %q", req.Method, req.RequestURI, m.Method, m.Target)
		}
		if req.ProtoMinor != m.Minor {
			t.Fatalf("version: net/http 1.%d, ours 1.%d", req.ProtoMinor, m.Minor)
		}
		got := http.Header{}
		for _, h := range m.Headers {
			k := textproto.CanonicalMIMEHeaderKey(h[0])
			if k == "Host" || k == "Transfer-Encoding" {
				continue
			}
			got[k] = append(got[k], h[1])
		}
		for k, v := range req.Header {
			if k == "Trailer" {
				continue
			}
			if !equalStrings(got[k], v) {
				t.Fatalf("header %q: net/http %q, ours %q", k, v, got[k])
			}
		}
		if len(got) != len(req.Header) {
			t.Fatalf("headers: net/http %q, ours %q", req.Header, got)
		}
		if m.Target[0] == '/' {
			host := ""
			for _, h := range m.Headers {
				if eqFold([]byte(h[0]), "host") {
					host = h[1]
				}
			}
			if req.Host != host {
				t.Fatalf("host: net/http %q, ours %q", req.Host, host)
			}
		}
		if !bytes.Equal(body, m.Body) {
			t.Fatalf("body: net/http %q, ours %q", body, m.Body)
		}
		keepAlive := (&Message{Minor: m.Minor, Flags: m.Flags, Framing: m.Framing}).KeepAlive()
		if req.Close == keepAlive {
			t.Fatalf("close: net/http %v, ours keep-alive %v", req.Close, keepAlive)
		}
	}
	return true
}

// TestNetHTTPAgreement runs the differential comparison over the llhttp
// corpus and requires that it really compares most accepted requests.
func TestNetHTTPAgreement(t *testing.T) {
	cases := loadCorpus(t, "llhttp-requests.json")
	compared := 0
	for _, c := range cases {
		raw := decode(t, c.Raw)
		if c.RawHost != "" {
			raw = decode(t, c.RawHost)
		}
		if compareNetHTTP(t, raw) {
			compared++
		}
	}
	for _, s := range fuzzSeeds[:4] {
		if !compareNetHTTP(t, []byte(s)) {
			t.Errorf("seed not compared: %q", s)
		}
	}
	if compared < 60 {
		t.Errorf("only %d corpus requests compared with net/http", compared)
	}
	t.Logf("%d corpus requests accepted by both and identical", compared)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
