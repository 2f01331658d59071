package plaintext

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const get = "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		n, bytes int
	}{
		{name: "empty", in: "", n: 0, bytes: 0},
		{name: "one", in: get, n: 1, bytes: len(get)},
		{name: "incomplete", in: get[:len(get)-1], n: 0, bytes: 0},
		{name: "three", in: get + get + get, n: 3, bytes: 3 * len(get)},
		{name: "two and a half", in: get + get + get[:10], n: 2, bytes: 2 * len(get)},
		{name: "bare LF does not end a head", in: "GET / HTTP/1.1\n\n", n: 0, bytes: 0},
		{name: "only separators", in: "\r\n\r\n\r\n\r\n", n: 2, bytes: 8},
	} {
		n, b := Scan([]byte(tc.in))
		if n != tc.n || b != tc.bytes {
			t.Errorf("%s: Scan = %d, %d; want %d, %d", tc.name, n, b, tc.n, tc.bytes)
		}
	}
}

// TestScanEverySplit feeds a 4-deep pipelined burst split at every byte
// boundary, carrying the unconsumed rest as a server does, and checks that
// exactly 4 requests are counted in total.
func TestScanEverySplit(t *testing.T) {
	burst := strings.Repeat(get, 4)
	for cut := 0; cut <= len(burst); cut++ {
		total := 0
		var carry []byte
		for _, part := range []string{burst[:cut], burst[cut:]} {
			buf := append(carry, part...)
			n, used := Scan(buf)
			total += n
			carry = append([]byte(nil), buf[used:]...)
		}
		if total != 4 || len(carry) != 0 {
			t.Fatalf("cut %d: %d requests, %d bytes left; want 4, 0", cut, total, len(carry))
		}
	}
}

func TestBuildParsesAsResponse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	b := Build("peer", now)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(body) != Body || resp.ContentLength != int64(len(Body)) {
		t.Fatalf("status %d body %q length %d", resp.StatusCode, body, resp.ContentLength)
	}
	for k, want := range map[string]string{
		"Server": "peer", "Content-Type": "text/plain", "Date": "Fri, 02 Jan 2026 02:04:05 GMT",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !bytes.HasSuffix(b, []byte("\r\n\r\n"+Body)) {
		t.Fatalf("response does not end with the body: %q", b)
	}
}

func TestResponseRefreshes(t *testing.T) {
	r := NewResponse("peer")
	defer r.Stop()
	first := r.Bytes()
	if !bytes.Contains(first, []byte("\r\nServer: peer\r\n")) {
		t.Fatalf("response %q has no Server: peer", first)
	}
	// The refresher runs every second; the date it writes is the current
	// second, so within 3 s the bytes must have been replaced by a
	// response for a later second.
	deadline := time.Now().Add(3 * time.Second)
	for bytes.Equal(r.Bytes(), first) {
		if time.Now().After(deadline) {
			t.Fatal("the response was not refreshed within 3 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkScanPipelined16(b *testing.B) {
	buf := []byte(strings.Repeat(get, 16))
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if n, _ := Scan(buf); n != 16 {
			b.Fatal(n)
		}
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte(get + get))
	f.Add([]byte("\r\n\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, used := Scan(b)
		if used < 0 || used > len(b) {
			t.Fatalf("consumed %d of %d bytes", used, len(b))
		}
		if n != bytes.Count(b[:used], []byte("\r\n\r\n")) {
			t.Fatalf("%d heads in %q", n, b[:used])
		}
		if n > 0 && !bytes.HasSuffix(b[:used], []byte("\r\n\r\n")) {
			t.Fatalf("consumed bytes %q do not end a head", b[:used])
		}
		if bytes.Contains(b[used:], []byte("\r\n\r\n")) {
			t.Fatalf("a complete head is left in %q", b[used:])
		}
	})
}
