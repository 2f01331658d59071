package httpparse

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func wantErr(t *testing.T, name string, r *result, kind Kind) {
	t.Helper()
	if r.Err == nil {
		t.Errorf("%s: no error, want %v\n%v", name, kind, r)
		return
	}
	if r.Err.Kind != kind {
		t.Errorf("%s: error %v, want kind %v", name, r.Err, kind)
	}
	if !strings.HasPrefix(r.Err.Error(), "http1: ") {
		t.Errorf("%s: error %q lacks the package prefix", name, r.Err.Error())
	}
}

func TestKindStatus(t *testing.T) {
	want := map[Kind]int{
		BadRequest: 400, ContentTooLarge: 413, URITooLong: 414,
		HeaderTooLarge: 431, NotImplemented: 501, VersionNotSupported: 505,
		Kind(0): 400,
	}
	for k, s := range want {
		if k.Status() != s {
			t.Errorf("%v.Status() = %d, want %d", k, k.Status(), s)
		}
		e := &Error{Kind: k, Reason: "x", Offset: 3}
		if e.Status() != s {
			t.Errorf("Error{%v}.Status() = %d, want %d", k, e.Status(), s)
		}
	}
	if got := (&Error{Kind: URITooLong, Reason: "request line too long", Offset: 8192}).Error(); got != "http1: request line too long (URITooLong at byte 8192)" {
		t.Errorf("Error() = %q", got)
	}
}

// TestErrors maps malformed requests to the error kind (and so the status)
// the server answers with, checking every split gives the same error.
func TestErrors(t *testing.T) {
	const h = "Host: a\r\n"
	cases := []struct {
		name, in string
		kind     Kind
	}{
		{"bare LF after request line", "GET / HTTP/1.1\n" + h + "\r\n", BadRequest},
		{"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", BadRequest},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", BadRequest},
		{"bare LF ending head", "GET / HTTP/1.1\r\n" + h + "\n", BadRequest},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", BadRequest},
		{"space before first field", "GET / HTTP/1.1\r\n " + h + "\r\n", BadRequest},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", BadRequest},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": x\r\n\r\n", BadRequest},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", BadRequest},
		{"DEL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x7fb\r\n\r\n", BadRequest},
		{"non-token method", "G(T / HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"two spaces", "GET  / HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"control char in target", "GET /\x01 HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"non-ASCII in target", "GET /\xc3\xa9 HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"relative target", "GET foo HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"asterisk with more", "OPTIONS *x HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"CONNECT origin form", "CONNECT /x HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"CONNECT without port", "CONNECT a.example HTTP/1.1\r\n" + h + "\r\n", BadRequest},
		{"lower-case version", "GET / http/1.1\r\n" + h + "\r\n", BadRequest},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", VersionNotSupported},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + h + "\r\n", VersionNotSupported},
		{"HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", VersionNotSupported},
		{"long version", "GET / HTTP/1.10\r\n" + h + "\r\n", BadRequest},
		{"no version", "GET /\r\n\r\n", BadRequest},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", BadRequest},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", BadRequest},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BadRequest},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", BadRequest},
		{"CL not digits", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1a\r\n\r\n", BadRequest},
		{"CL signed", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\n", BadRequest},
		{"CL list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 1\r\n\r\n", BadRequest},
		{"CL identical duplicate", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", BadRequest},
		{"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n", BadRequest},
		{"CL overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 9223372036854775808\r\n\r\n", BadRequest},
		{"TE and CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", BadRequest},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", BadRequest},
		{"TE not chunked last", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", BadRequest},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", BadRequest},
		{"TE identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", BadRequest},
		{"TE unknown only", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: pigeons\r\n\r\n", BadRequest},
		{"TE unknown before chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: pigeons, chunked\r\n\r\n", NotImplemented},
		{"TE chunked with parameter", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;q=1\r\n\r\n", BadRequest},
		{"TE bad token", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \"chunked\"\r\n\r\n", BadRequest},
		{"Connection bad option", "GET / HTTP/1.1\r\n" + h + "Connection: close\"\r\n\r\n", BadRequest},
		{"PRI preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", BadRequest},
		{"chunk size not hex", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nx\r\n", BadRequest},
		{"chunk size empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n\r\n", BadRequest},
		{"chunk size overflow", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", BadRequest},
		{"chunk size bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n", BadRequest},
		{"chunk data without CRLF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", BadRequest},
		{"chunk data with bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n", BadRequest},
		{"chunk ext empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n", BadRequest},
		{"chunk ext bad value", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;a=\r\nx\r\n0\r\n\r\n", BadRequest},
		{"chunk ext open quote", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;a=\"b\r\nx\r\n0\r\n\r\n", BadRequest},
		{"chunk ext trailing space", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1;a \r\nx\r\n0\r\n\r\n", BadRequest},
		{"space after chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n", BadRequest},
		{"trailer obs-fold", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", BadRequest},
		{"trailer bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n", BadRequest},
	}
	for _, c := range cases {
		for how, chunks := range splits([]byte(c.in)) {
			r := drive(Request, Limits{}, chunks, false)
			wantErr(t, c.name+" ("+how+")", r, c.kind)
		}
	}
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxRequestLine: 64, MaxHeaderBytes: 256, MaxHeaders: 4, MaxChunkLine: 16, MaxBodyBytes: 10}
	long := strings.Repeat("a", 100)
	cases := []struct {
		name, in string
		kind     Kind // 0: accepted
	}{
		{"request line at limit", "GET /" + strings.Repeat("a", 64-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"request line over limit", "GET /" + strings.Repeat("a", 65-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\nHost: a\r\n\r\n", URITooLong},
		{"long target, line unfinished", "GET /" + long, URITooLong},
		{"long method, line unfinished", long, URITooLong},
		{"header block over limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 256) + "\r\n\r\n", HeaderTooLarge},
		{"header block over limit, unfinished", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 300), HeaderTooLarge},
		{"empty lines count", strings.Repeat("\r\n", 130) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", HeaderTooLarge},
		{"fields at limit", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0},
		{"fields over limit", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", HeaderTooLarge},
		{"body at limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", 0},
		{"body over limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", ContentTooLarge},
		{"chunked at limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 0},
		{"chunked over limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n", ContentTooLarge},
		{"chunk line at limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;abcdefghijkl\r\nx\r\n0\r\n\r\n", 0},
		{"chunk line over limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;abcdefghijklm\r\nx\r\n0\r\n\r\n", BadRequest},
		{"trailers over count", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", HeaderTooLarge},
		{"trailers over size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: " + strings.Repeat("v", 300), HeaderTooLarge},
	}
	for _, c := range cases {
		for how, chunks := range splits([]byte(c.in)) {
			r := drive(Request, lim, chunks, false)
			if c.kind == 0 {
				if r.Err != nil || r.outcome() != oAccept {
					t.Errorf("%s (%s): %v", c.name, how, r)
				}
				continue
			}
			wantErr(t, c.name+" ("+how+")", r, c.kind)
		}
	}
	var p Parser
	p.Init(Request, Limits{})
	if p.lim.MaxRequestLine != DefaultMaxRequestLine || p.lim.MaxHeaderBytes != DefaultMaxHeaderBytes ||
		p.lim.MaxHeaders != DefaultMaxHeaders || p.lim.MaxChunkLine != DefaultMaxChunkLine || p.lim.MaxBodyBytes != 0 {
		t.Errorf("defaults not applied: %+v", p.lim)
	}
}

// TestDefaultLimits holds the defaults to the sizes their docs state, and
// a zero Limits to them at the boundaries.
func TestDefaultLimits(t *testing.T) {
	if DefaultMaxRequestLine != 8<<10 || DefaultMaxHeaderBytes != 32<<10 || DefaultMaxHeaders != 100 || DefaultMaxChunkLine != 4<<10 {
		t.Fatalf("defaults %d %d %d %d differ from their docs", DefaultMaxRequestLine, DefaultMaxHeaderBytes, DefaultMaxHeaders, DefaultMaxChunkLine)
	}
	line := func(n int) string { // a request line of n bytes
		return "GET /" + strings.Repeat("a", n-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\n"
	}
	fields := func(n int) string { // Host and n-1 more fields
		return "Host: a\r\n" + strings.Repeat("X: b\r\n", n-1)
	}
	pad := func(n int) string { // a head of n bytes
		h := "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n"
		return strings.Replace(h, "X: ", "X: "+strings.Repeat("v", n-len(h)), 1)
	}
	cases := []struct {
		name, in string
		kind     Kind // 0: accepted
	}{
		{name: "request line at the default", in: line(DefaultMaxRequestLine) + "Host: a\r\n\r\n"},
		{name: "request line over the default", in: line(DefaultMaxRequestLine+1) + "Host: a\r\n\r\n", kind: URITooLong},
		{name: "fields at the default", in: "GET / HTTP/1.1\r\n" + fields(DefaultMaxHeaders) + "\r\n"},
		{name: "fields over the default", in: "GET / HTTP/1.1\r\n" + fields(DefaultMaxHeaders+1) + "\r\n", kind: HeaderTooLarge},
		{name: "head at the default", in: pad(DefaultMaxHeaderBytes)},
		{name: "head over the default", in: pad(DefaultMaxHeaderBytes + 1), kind: HeaderTooLarge},
		{name: "chunk line at the default", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", DefaultMaxChunkLine-4) + "\r\nx\r\n0\r\n\r\n"},
		{name: "chunk line over the default", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", DefaultMaxChunkLine-3) + "\r\nx\r\n0\r\n\r\n", kind: BadRequest},
	}
	for _, c := range cases {
		r := drive(Request, Limits{}, [][]byte{[]byte(c.in)}, false)
		if c.kind == 0 {
			if r.Err != nil || r.outcome() != oAccept {
				t.Errorf("%s: %v", c.name, r)
			}
			continue
		}
		wantErr(t, c.name, r, c.kind)
	}
}

func TestPipelined(t *testing.T) {
	in := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
		"\r\n" + // an empty line between messages is allowed (RFC 9112 2.2)
		"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2;e=\"q\\\"\"\r\nde\r\n0\r\nT: v\r\n\r\n" +
		"HEAD /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
		"DELETE /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	type want struct {
		method, target, body string
		trailers             int
		keepAlive            bool
		flags                Flags
	}
	wants := []want{
		{"GET", "/a", "", 0, true, 0},
		{"POST", "/b", "abc", 0, true, FlagContentLength},
		{"PUT", "/c", "de", 1, true, FlagTransferEncoding | FlagChunked | FlagOtherCodings},
		{"HEAD", "/d", "", 0, true, FlagKeepAlive},
		{"DELETE", "/e", "", 0, false, FlagClose},
	}
	raw := []byte(in)
	// Every split point, and one byte at a time.
	var all []map[string][][]byte
	for cut := 0; cut <= len(raw); cut++ {
		all = append(all, map[string][][]byte{"cut": {raw[:cut], raw[cut:]}})
	}
	all = append(all, splits(raw))
	for _, set := range all {
		for how, chunks := range set {
			r := drive(Request, Limits{}, chunks, false)
			if r.Err != nil || r.outcome() != oAccept || len(r.Msgs) != len(wants) {
				t.Fatalf("%s: %v", how, r)
			}
			for i, w := range wants {
				m := r.Msgs[i]
				if m.Method != w.method || m.Target != w.target || string(m.Body) != w.body ||
					len(m.Trailers) != w.trailers || m.Flags != w.flags || !m.Complete {
					t.Fatalf("%s: message %d = %+v, want %+v", how, i, m, w)
				}
			}
			if r.Msgs[2].Trailers[0] != [2]string{"T", "v"} {
				t.Fatalf("trailers %q", r.Msgs[2].Trailers)
			}
		}
	}
	// KeepAlive is a property of each message.
	var p Parser
	buf := raw
	for i, w := range wants {
		n, err := p.Parse(buf)
		if err != nil || n == 0 {
			t.Fatalf("message %d: n=%d err=%v", i, n, err)
		}
		buf = buf[n:]
		for p.InBody() {
			k, _, _, err := p.Body(buf)
			if err != nil {
				t.Fatal(err)
			}
			buf = buf[k:]
		}
		if got := p.Message().KeepAlive(); got != w.keepAlive {
			t.Errorf("message %d KeepAlive = %v, want %v", i, got, w.keepAlive)
		}
	}
	if len(buf) != 0 || p.Started() {
		t.Errorf("left %q, started %v", buf, p.Started())
	}
}

func TestChunkedExtensionsAndTrailers(t *testing.T) {
	in := "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Digest, Note\r\n\r\n" +
		"5;name=value;flag\r\nhello\r\n" +
		"1 ; q=\"a;b\\\\c\" ; r = s\r\n,\r\n" +
		"6;x=\"\"\r\n world\r\n" +
		"0;last=yes\r\nDigest: sha=abc \r\nNote:\r\n\r\n"
	for how, chunks := range splits([]byte(in)) {
		r := drive(Request, Limits{}, chunks, false)
		if r.Err != nil || len(r.Msgs) != 1 || !r.Msgs[0].Complete {
			t.Fatalf("%s: %v", how, r)
		}
		m := r.Msgs[0]
		if string(m.Body) != "hello, world" {
			t.Errorf("%s: body %q", how, m.Body)
		}
		want := [][2]string{{"Digest", "sha=abc"}, {"Note", ""}}
		if !sameFields(m.Trailers, want) {
			t.Errorf("%s: trailers %q, want %q", how, m.Trailers, want)
		}
	}
}

func TestBodyPayloadIsSubslice(t *testing.T) {
	in := []byte("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	var p Parser
	n, err := p.Parse(in)
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
	rest := in[n:]
	k, payload, done, err := p.Body(rest)
	if err != nil || done || string(payload) != "abc" || &payload[0] != &rest[3] || k != 6 {
		t.Fatalf("k=%d payload=%q done=%v err=%v", k, payload, done, err)
	}
	k2, payload, done, err := p.Body(rest[k:])
	if err != nil || !done || len(payload) != 0 || k+k2 != len(rest) {
		t.Fatalf("k=%d payload=%q done=%v err=%v", k2, payload, done, err)
	}
	// Headers point into the input too.
	h := p.Message().Headers[0]
	if &h.Name[0] != &in[16] {
		t.Errorf("header name is a copy")
	}
}

func TestMisuse(t *testing.T) {
	var p Parser
	if _, _, _, err := p.Body([]byte("x")); err == nil {
		t.Error("Body before a head: no error")
	}
	n, err := p.Parse([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n"))
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
	if _, err := p.Parse([]byte("GET / HTTP/1.1\r\n")); err == nil {
		t.Error("Parse during a body: no error")
	}
	if done, err := p.EOF(); done || err == nil {
		t.Errorf("EOF inside a body: done=%v err=%v", done, err)
	}
	p.Reset()
	if p.InBody() || p.Started() {
		t.Error("Reset kept state")
	}
	if done, err := p.EOF(); done || err != nil {
		t.Errorf("EOF between messages: done=%v err=%v", done, err)
	}
	// Empty lines only: not started.
	if n, err := p.Parse([]byte("\r\n\r\n")); n != 0 || err != nil || p.Started() {
		t.Errorf("empty lines: n=%d err=%v started=%v", n, err, p.Started())
	}
}

func TestFlags(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: Keep-Alive, UPGRADE\r\nUpgrade: websocket\r\nExpect: 100-Continue\r\n\r\n"
	var p Parser
	if n, err := p.Parse([]byte(in)); err != nil || n != len(in) {
		t.Fatal(n, err)
	}
	m := p.Message()
	if m.Flags != FlagKeepAlive|FlagConnectionUpgrade|FlagUpgrade|FlagExpectContinue || !m.Upgrade() ||
		string(m.Host) != "[::1]:80" || m.ContentLength != -1 || m.Framing != BodyNone {
		t.Errorf("flags %#x host %q cl %d framing %d", m.Flags, m.Host, m.ContentLength, m.Framing)
	}
	in = "GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nConnection: close, keep-alive\r\n\r\n"
	if n, err := p.Parse([]byte(in)); err != nil || n != len(in) {
		t.Fatal(n, err)
	}
	if m.Flags != FlagExpectOther|FlagClose|FlagKeepAlive || m.KeepAlive() || m.Upgrade() {
		t.Errorf("flags %#x", m.Flags)
	}
}

func TestResponses(t *testing.T) {
	cases := []struct {
		name, method, in string
		framing          Framing
		body             string
		out              outcome
	}{
		{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", BodyLength, "hi", oAccept},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", BodyChunked, "hi", oAccept},
		{"until close", "GET", "HTTP/1.1 200 OK\r\n\r\nhello", BodyUntilClose, "hello", oIncomplete},
		{"gzip only", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", BodyUntilClose, "zz", oIncomplete},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", BodyNone, "", oAccept},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", BodyNone, "", oAccept},
		{"304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", BodyNone, "", oAccept},
		{"CONNECT 200", "CONNECT", "HTTP/1.1 200 OK\r\n\r\n", BodyNone, "", oAccept},
		{"empty reason", "GET", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", BodyNone, "", oAccept},
	}
	for _, c := range cases {
		for how, chunks := range splits([]byte(c.in)) {
			var p Parser
			p.Init(Response, Limits{})
			p.SetRequestMethod([]byte(c.method))
			r := driveWith(&p, chunks, false)
			if r.Err != nil || r.outcome() != c.out || len(r.Msgs) != 1 || r.Msgs[0].Framing != c.framing || string(r.Msgs[0].Body) != c.body {
				t.Errorf("%s (%s): %v", c.name, how, r)
			}
			if c.framing == BodyUntilClose {
				if done, err := p.EOF(); !done || err != nil {
					t.Errorf("%s: EOF = %v, %v", c.name, done, err)
				}
			}
		}
	}
	bad := []string{
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
	}
	for _, in := range bad {
		r := drive(Response, Limits{}, [][]byte{[]byte(in)}, false)
		wantErr(t, strings.TrimSpace(in), r, BadRequest)
	}
}

// TestZeroAlloc checks the steady state of a connection: a request with a
// chunked body and trailers, parsed again and again, allocates nothing.
func TestZeroAlloc(t *testing.T) {
	in := []byte("POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4;a=b\r\nwxyz\r\n0\r\nT: 1\r\n\r\n" + typicalGET)
	var p Parser
	run := func() {
		buf := in
		for len(buf) > 0 {
			n, err := p.Parse(buf)
			if err != nil || n == 0 {
				t.Fatal(n, err)
			}
			buf = buf[n:]
			for p.InBody() {
				k, _, _, err := p.Body(buf)
				if err != nil {
					t.Fatal(err)
				}
				buf = buf[k:]
			}
		}
	}
	run()
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Errorf("%v allocations per run, want 0", a)
	}
}

func TestIncrementalIsLinear(t *testing.T) {
	// A head fed one byte at a time is scanned once: Parse resumes.
	in := []byte("GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 20000) + "\r\n\r\n")
	var p Parser
	for i := 1; i < len(in); i++ {
		n, err := p.Parse(in[:i])
		if n != 0 || err != nil {
			t.Fatalf("at %d: n=%d err=%v", i, n, err)
		}
		if p.pos != i {
			t.Fatalf("at %d: resumed at %d", i, p.pos)
		}
	}
	if n, err := p.Parse(in); n != len(in) || err != nil {
		t.Fatal(n, err)
	}
	if !bytes.Equal(p.Message().Headers[1].Value, bytes.Repeat([]byte("v"), 20000)) {
		t.Error("value mismatch")
	}
}

// TestTakeFields: with offsets only, the request line and Host come as
// offsets and the fields taken after one head stay intact while the parser
// records the next heads in the spare storage; exchanging the two slices
// back and forth allocates nothing.
func TestTakeFields(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n\r\nGET / HTTP/1.1\r\nHost: bb\r\nX-Two: 22\r\nX-Three: 3\r\n\r\n")
	var p Parser
	p.Init(Request, Limits{})
	p.SetOffsetsOnly(true)
	n, err := p.Parse(in)
	if n == 0 || err != nil {
		t.Fatal(n, err)
	}
	if ms, me, ts, te, hs, he := p.RequestOffsets(); ms != 0 || me != 3 || ts != 4 || te != 5 || hs != 22 || he != 23 {
		t.Fatalf("request offsets %d %d %d %d %d %d", ms, me, ts, te, hs, he)
	}
	if msg := p.Message(); msg.Method != nil || msg.Target != nil || msg.Host != nil {
		t.Fatalf("offsets only, yet the message has slices: %q %q %q", msg.Method, msg.Target, msg.Host)
	}
	first := p.TakeFields(make([]Span, 0, 4))
	want := []Span{{16, 20, 22, 23}, {25, 30, 32, 33}}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Fatalf("first fields %v, want %v", first, want)
	}
	m, err := p.Parse(in[n:])
	if m == 0 || err != nil {
		t.Fatal(m, err)
	}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Fatalf("first fields changed to %v by the next head", first)
	}
	second := p.Fields()
	if len(second) != 3 || string(in[n:][second[2].NameStart:second[2].NameEnd]) != "X-Three" {
		t.Fatalf("second fields %v", second)
	}
	spare := first
	allocs := testing.AllocsPerRun(100, func() {
		if k, err := p.Parse(in[:n]); k != n || err != nil {
			t.Fatal(k, err)
		}
		spare = p.TakeFields(spare)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per head", allocs)
	}
}
