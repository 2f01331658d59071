package httpparse

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// wordByTable is the reference for valueWord and targetWord: all 8 bytes
// pass ok.
func wordByTable(x uint64, ok func(byte) bool) bool {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	for _, c := range b {
		if !ok(c) {
			return false
		}
	}
	return true
}

func plainValue(c byte) bool  { return isValue[c] && c != '\t' }
func plainTarget(c byte) bool { return isTarget[c] }

// TestWordClassifiers puts every byte value at every position of words
// otherwise made of valid bytes (and of random bytes) and compares the
// word-at-a-time answers with the tables.
func TestWordClassifiers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fillers := []uint64{0x6161616161616161, 0x7e7e7e7e7e7e7e7e, 0x2121212121212121}
	for range 64 {
		fillers = append(fillers, rng.Uint64())
	}
	for _, fill := range fillers {
		for pos := range 8 {
			for c := range 256 {
				x := fill&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
				if got, want := valueWord(x), wordByTable(x, plainValue); got != want {
					t.Fatalf("valueWord(%#016x) = %v, want %v", x, got, want)
				}
				if got, want := targetWord(x), wordByTable(x, plainTarget); got != want {
					t.Fatalf("targetWord(%#016x) = %v, want %v", x, got, want)
				}
			}
		}
	}
	for range 1 << 16 {
		x := rng.Uint64()
		if valueWord(x) != wordByTable(x, plainValue) || targetWord(x) != wordByTable(x, plainTarget) {
			t.Fatalf("word %#016x classified unlike the tables", x)
		}
	}
	if le64([]byte("HTTP/1.0")) != http10 || le64([]byte("HTTP/1.1")) != http11 {
		t.Fatal("version constants do not spell HTTP/1.0 and HTTP/1.1")
	}
}

// TestSkipFunctions compares skipValue and skipTarget with table scans on
// inputs with one odd byte at every position, behind every offset.
func TestSkipFunctions(t *testing.T) {
	ref := func(data []byte, i int, ok *[256]bool) int {
		for i < len(data) && ok[data[i]] {
			i++
		}
		return i
	}
	base := []byte("text/plain,text/html;q=0.9 abc/def?x=1&y=2&z=text/plain,text/html")
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for c := range 256 {
				data := append([]byte(nil), base[:n]...)
				data[pos] = byte(c)
				for _, from := range []int{0, 1, 3, 7, 8, 9, pos, n} {
					if from > n {
						continue
					}
					if got, want := skipValue(data, from), ref(data, from, &isValue); got != want {
						t.Fatalf("skipValue(%q, %d) = %d, want %d", data, from, got, want)
					}
					if got, want := skipTarget(data, from), ref(data, from, &isTarget); got != want {
						t.Fatalf("skipTarget(%q, %d) = %d, want %d", data, from, got, want)
					}
				}
			}
		}
	}
}

// TestHostWord puts every byte value at every position of words of usual
// Host bytes and requires hostWord to accept exactly the words whose bytes
// are letters, digits, '-', '.' or ':'.
func TestHostWord(t *testing.T) {
	usual := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':'
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, base := range []string{"127.0.0", "www.Exam", "a-b.c:80", "ZZZZZZZZ", "--------"} {
		fill := le64([]byte(base + "00000000"))
		for pos := range 8 {
			for c := range 256 {
				x := fill&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
				if got, want := hostWord(x), wordByTable(x, usual); got != want {
					t.Fatalf("hostWord(%#016x) = %v, want %v", x, got, want)
				}
			}
		}
	}
	for range 1 << 16 {
		x := rng.Uint64()
		if hostWord(x) != wordByTable(x, usual) {
			t.Fatalf("hostWord(%#016x) unlike the table", x)
		}
	}
	for c := range 256 {
		if usual(byte(c)) && !isHost[c] {
			t.Fatalf("%q is usual but not a Host byte", byte(c))
		}
	}
}

// TestSkipTokenAndHost compares skipToken and firstNonHost with table scans
// on token and host inputs with one odd byte at every position, behind every
// offset.
func TestSkipTokenAndHost(t *testing.T) {
	for _, base := range []string{"User-Agent_X-Forwarded-For~1", "www.example.com:8080[::1]%41", "127.0.0.1:8080.example-host.COM:443"} {
		for n := 0; n <= len(base); n++ {
			for pos := 0; pos < n; pos++ {
				for c := range 256 {
					data := []byte(base[:n])
					data[pos] = byte(c)
					for from := 0; from <= n; from++ {
						want := from
						for want < n && isToken[data[want]] {
							want++
						}
						if got := skipToken(data, from); got != want {
							t.Fatalf("skipToken(%q, %d) = %d, want %d", data, from, got, want)
						}
					}
					want := -1
					for i, b := range data {
						if !isHost[b] {
							want = i
							break
						}
					}
					if got := firstNonHost(data); got != want {
						t.Fatalf("firstNonHost(%q) = %d, want %d", data, got, want)
					}
				}
			}
		}
	}
}

// TestEqFold compares the word-at-a-time eqFold with the byte-wise
// reference for every byte a token or field value may hold, at every
// position of every name the parser compares.
func TestEqFold(t *testing.T) {
	for _, s := range []string{"host", "content-length", "transfer-encoding", "connection", "expect",
		"100-continue", "upgrade", "chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress",
		"keep-alive", "close"} {
		upper := []byte(s)
		for i := range upper {
			if 'a' <= upper[i] && upper[i] <= 'z' {
				upper[i] -= 'a' - 'A'
			}
		}
		for _, base := range [][]byte{[]byte(s), upper} {
			if !eqFold(base, s) {
				t.Fatalf("eqFold(%q, %q) = false", base, s)
			}
			for pos := range base {
				for c := range 256 {
					if c < 0x20 && c != '\t' {
						continue // never in a token or a field value
					}
					b := append([]byte(nil), base...)
					b[pos] = byte(c)
					if got, want := eqFold(b, s), eqFoldBytewise(b, s); got != want {
						t.Fatalf("eqFold(%q, %q) = %v, want %v", b, s, got, want)
					}
				}
			}
		}
	}
}

// TestKnownName checks knownName against the general path (skipToken and
// fieldOf): every listed name is found with its colon, and whatever it
// finds, in inputs with one byte changed at every position or cut short,
// is a token followed by a colon that fieldOf names the same way.
func TestKnownName(t *testing.T) {
	check := func(data []byte, from int) {
		t.Helper()
		colon, id := knownName(data, from)
		if id == fUnknown {
			return
		}
		if end := skipToken(data, from); end != colon || colon >= len(data) || data[colon] != ':' || colon == from {
			t.Fatalf("knownName(%q, %d) = %d, but the token ends at %d", data, from, colon, end)
		}
		if want := fieldOf(data[from:colon]); want != id {
			t.Fatalf("knownName(%q, %d) names the field %d, fieldOf %d", data, from, id, want)
		}
	}
	for _, e := range knownList {
		line := "xy" + e.name + ": value\r\n"
		long := line + "Host: example.com:80\r\n\r\n" // 24 bytes after any name
		if colon, id := knownName([]byte(line), 2); colon != 2+len(e.name) || id != fieldOf([]byte(e.name)) {
			t.Fatalf("knownName misses %q: %d %d", e.name, colon, id)
		}
		if colon, id := knownName([]byte(long), 2); colon != 2+len(e.name) || id != fieldOf([]byte(e.name)) {
			t.Fatalf("knownName misses %q with more input: %d %d", e.name, colon, id)
		}
		for pos := 2; pos < len(long); pos++ {
			for c := range 256 {
				data := []byte(long)
				data[pos] = byte(c)
				check(data, 2)
			}
		}
		for n := 0; n <= len(line); n++ {
			check([]byte(line[:n]), 2)
			for pos := 2; pos < n; pos++ {
				for c := range 256 {
					data := []byte(line[:n])
					data[pos] = byte(c)
					check(data, 2)
				}
			}
		}
	}
}

// TestWholeRequestAgrees changes every byte of two pipelined usual heads
// to each of the bytes that turn a parse (spaces, line ends, colon, NUL,
// DEL, obs-text, a letter, a digit, slash) and under tight limits, and
// requires the same messages and the same error whether the input comes
// whole (the straight path) or one byte at a time (the state machine only).
func TestWholeRequestAgrees(t *testing.T) {
	base := "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n" +
		"Content-Length: 2\r\nConnection: keep-alive\r\nX-Y:\tz \r\n\r\nhi" +
		"POST /u?q=1 HTTP/1.0\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n0\r\n\r\n"
	limits := []Limits{{}, {MaxRequestLine: 24, MaxHeaderBytes: 90, MaxHeaders: 3}}
	for pos := range len(base) {
		for _, c := range []byte(" \t\r\n:\x00\x7f\x80A7/@") {
			data := []byte(base)
			data[pos] = c
			for _, l := range limits {
				whole := drive(Request, l, [][]byte{data}, false)
				bytewise := drive(Request, l, splits(data)["bytes"], false)
				if !sameResult(whole, bytewise) {
					t.Fatalf("%q: whole and byte at a time differ:\nwhole: %v\nbytes: %v", data, whole, bytewise)
				}
			}
		}
	}
}
