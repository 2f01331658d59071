package httpparse

import (
	"strings"
	"testing"
)

// typicalGET is a 200-byte-class GET with six header fields.
const typicalGET = "GET /api/v1/items?id=42 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
	"Accept: text/html,application/json\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=abcdef0123456789\r\n" +
	"\r\n"

func BenchmarkParseGET(b *testing.B) {
	in := []byte(typicalGET)
	var p Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		n, err := p.Parse(in)
		if n != len(in) || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkParsePipelined16(b *testing.B) {
	in := []byte(strings.Repeat(typicalGET, 16))
	var p Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		buf := in
		for len(buf) > 0 {
			n, err := p.Parse(buf)
			if n == 0 || err != nil {
				b.Fatal(n, err)
			}
			buf = buf[n:]
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/request")
}

func BenchmarkChunkedBody(b *testing.B) {
	head := "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunk := "1000;ext=v\r\n" + strings.Repeat("x", 4096) + "\r\n"
	body := strings.Repeat(chunk, 16) + "0\r\nT: v\r\n\r\n"
	in := []byte(head + body)
	var p Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		n, err := p.Parse(in)
		if n == 0 || err != nil {
			b.Fatal(n, err)
		}
		buf := in[n:]
		total := 0
		for p.InBody() {
			k, payload, _, err := p.Body(buf)
			if err != nil {
				b.Fatal(err)
			}
			total += len(payload)
			buf = buf[k:]
		}
		if total != 16*4096 {
			b.Fatal(total)
		}
	}
}

func BenchmarkParseByteByByte(b *testing.B) {
	in := []byte(typicalGET)
	var p Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for i := 1; i <= len(in); i++ {
			n, err := p.Parse(in[:i])
			if err != nil || (n != 0) != (i == len(in)) {
				b.Fatal(i, n, err)
			}
		}
	}
}

// wrkGET is the request of the HTTP plaintext benchmark's load generator.
const wrkGET = "GET /plaintext HTTP/1.1\r\n" +
	"Host: 127.0.0.1:8080\r\n" +
	"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

// BenchmarkParseWrk parses the benchmark's request with offsets only, as
// the server does.
func BenchmarkParseWrk(b *testing.B) {
	in := []byte(wrkGET)
	var p Parser
	p.Init(Request, Limits{})
	p.SetOffsetsOnly(true)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		n, err := p.Parse(in)
		if n != len(in) || err != nil || len(p.Fields()) != 3 {
			b.Fatal(n, err)
		}
	}
}
