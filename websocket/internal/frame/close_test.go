package frame

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidCloseCodeRanges(t *testing.T) {
	for code := -1; code < 6000; code++ {
		want := code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
		if ValidCloseCode(code) != want {
			t.Fatalf("ValidCloseCode(%d) = %v", code, !want)
		}
	}
}

func TestParseClose(t *testing.T) {
	cases := []struct {
		payload string
		code    int
		reason  string
		errCode int
	}{
		{payload: "", code: 1005},
		{payload: "\x03\xe8", code: 1000},
		{payload: "\x03\xe9going", code: 1001, reason: "going"},
		{payload: "\x0f\xa0κόσμε", code: 4000, reason: "κόσμε"},
		{payload: "\x03", errCode: 1002},
		{payload: "\x03\xed", errCode: 1002},
		{payload: "\x00\x00", errCode: 1002},
		{payload: "\x03\xe8\xff", errCode: 1007},
		{payload: "\x03\xe8\xe2\x82", errCode: 1007},
	}
	for _, c := range cases {
		code, reason, err := ParseClose([]byte(c.payload))
		if codeOf(err) != c.errCode {
			t.Fatalf("%q: err = %v, want code %d", c.payload, err, c.errCode)
		}
		if err == nil && (code != c.code || string(reason) != c.reason) {
			t.Fatalf("%q: %d %q, want %d %q", c.payload, code, reason, c.code, c.reason)
		}
	}
}

func TestAppendClose(t *testing.T) {
	if got := AppendClose([]byte("x"), 1000, "bye"); string(got) != "x\x03\xe8bye" {
		t.Fatalf("AppendClose = %q", got)
	}
	if got := AppendClose(nil, CloseNoStatus, "dropped"); len(got) != 0 {
		t.Fatalf("no-status close has payload %q", got)
	}
	// A long reason is cut at a code point boundary to fit 125 bytes.
	long := strings.Repeat("€", 60) // 180 bytes
	got := AppendClose(nil, 4000, long)
	if len(got) > MaxControlPayload || !utf8.Valid(got[2:]) || !strings.HasPrefix(long, string(got[2:])) || len(got) < MaxControlPayload-2 {
		t.Fatalf("cut reason: %d bytes, valid %v", len(got), utf8.Valid(got[2:]))
	}
	code, reason, err := ParseClose(got)
	if err != nil || code != 4000 || !bytes.Equal(reason, got[2:]) {
		t.Fatalf("round trip: %d %q %v", code, reason, err)
	}
	exact := strings.Repeat("a", MaxCloseReason)
	if got := AppendClose(nil, 1000, exact); len(got) != MaxControlPayload {
		t.Fatalf("reason of exactly %d bytes cut to %d", MaxCloseReason, len(got)-2)
	}
}
