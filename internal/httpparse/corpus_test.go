package httpparse

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The corpus lives beside the checkout: ../shared/conformance from the
// module root, which is three directories up from this package.
var corpusDir = filepath.Join("..", "..", "..", "shared", "conformance")

type corpusFile struct {
	Cases []corpusCase `json:"cases"`
}

type corpusCase struct {
	ID            string                    `json:"id"`
	Name          string                    `json:"name"`
	Strict        bool                      `json:"strict"`
	Verdict       string                    `json:"verdict"`
	StrictVerdict *struct{ Verdict string } `json:"strict_verdict"`
	Raw           string                    `json:"raw_b64"`
	RawHost       string                    `json:"raw_host_b64"`
	Messages      []corpusMessage           `json:"messages"`
}

type corpusMessage struct {
	Method   *string     `json:"method"`
	URL      *string     `json:"url"`
	Version  *string     `json:"version"`
	Status   *int        `json:"status"`
	Reason   *string     `json:"reason"`
	Headers  [][2]string `json:"headers"`
	Trailers [][2]string `json:"trailers"`
	Body     struct {
		Text *string `json:"text"`
		B64  *string `json:"b64"`
	} `json:"body"`
	Complete bool `json:"complete"`
}

func (c *corpusCase) expected() outcome {
	if c.Strict {
		return outcome(c.Verdict)
	}
	return outcome(c.StrictVerdict.Verdict)
}

// difference is a case where this parser deliberately answers otherwise
// than llhttp's strict mode.
type difference struct {
	ours outcome
	rfc  string
	why  string
}

// requestDifferences lists every request case where the verdict differs
// from llhttp's, with the reason. The test checks that each entry is still
// what the parser does, so the table cannot go stale.
var requestDifferences = map[string]difference{
	"request/sample.md:314": {oReject, "RFC 9112 2.3, 3",
		"HTTP/0.9 simple requests (no version) are not supported: a request line must end in HTTP-version"},
	"request/method.md:372": {oReject, "RFC 9112 2.3",
		"ICE/1.0 is not HTTP: HTTP-name is the case-sensitive \"HTTP\""},
	"request/method.md:400": {oReject, "RFC 9112 2.3",
		"RTSP/1.0 is not HTTP: HTTP-name is the case-sensitive \"HTTP\""},
	"request/method.md:430": {oReject, "RFC 9112 2.3",
		"RTSP/1.0 is not HTTP: HTTP-name is the case-sensitive \"HTTP\""},
	"request/invalid.md:66": {oAccept, "RFC 9110 9.1",
		"a method is any token; unknown methods are the server's business (501), not a parse error. llhttp rejects ANNOUNCE outside RTSP"},
	"request/method.md:458": {oReject, "RFC 9113 3.4, 11.6",
		"PRI is reserved for the HTTP/2 preface and never used by an HTTP/1.1 client; \"PRI * HTTP/1.1\" is rejected instead of paused for an h2 upgrade"},
	"request/content-length.md:444": {oIncomplete, "RFC 9112 6.3",
		"llhttp's test skips the body with a test-only callback; without it the second request is 123 body bytes in progress (node's llhttp agrees: incomplete)"},
}

func loadCorpus(t testing.TB, name string) []corpusCase {
	data, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Skipf("conformance corpus not available (%v); it lives in ../shared/conformance beside the checkout", err)
	}
	var f corpusFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("corpus %s: %v", name, err)
	}
	return f.Cases
}

func decode(t testing.TB, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCorpusRequests(t *testing.T) {
	cases := loadCorpus(t, "llhttp-requests.json")
	agree, differ := 0, 0
	seen := map[string]bool{}
	for _, c := range cases {
		raw := decode(t, c.Raw)
		hostAdded := c.RawHost != ""
		if hostAdded {
			// RFC 9112 3.2 makes a 1.1 request without Host a 400, which
			// would hide what the case tests; the corpus provides the same
			// bytes with "Host: localhost" after each such request line.
			raw = decode(t, c.RawHost)
		}
		var results = map[string]*result{}
		for how, chunks := range splits(raw) {
			results[how] = drive(Request, Limits{}, chunks, true)
		}
		whole := results["whole"]
		for how, r := range results {
			if !sameResult(whole, r) {
				t.Errorf("%s (%s): split %q differs from whole:\nwhole: %v\n%s: %v", c.ID, c.Name, how, whole, how, r)
			}
		}
		want := c.expected()
		got := whole.outcome()
		if d, ok := requestDifferences[c.ID]; ok {
			seen[c.ID] = true
			differ++
			if got != d.ours {
				t.Errorf("%s (%s): listed difference says %s, parser gives %s\n%v", c.ID, c.Name, d.ours, got, whole)
			}
			if d.ours == want {
				t.Errorf("%s: listed as a difference but agrees with llhttp (%s)", c.ID, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s (%s): llhttp %s, parser %s\ninput %q\n%v", c.ID, c.Name, want, got, raw, whole)
			continue
		}
		agree++
		if c.Strict {
			// Lenient cases list what llhttp's lenient mode parsed.
			checkMessages(t, &c, whole, hostAdded)
		}
	}
	for id := range requestDifferences {
		if !seen[id] {
			t.Errorf("difference %s names no corpus case", id)
		}
	}
	t.Logf("llhttp request corpus: %d of %d cases agree, %d deliberate differences", agree, len(cases), differ)
}

func checkMessages(t *testing.T, c *corpusCase, r *result, hostAdded bool) {
	t.Helper()
	for i, em := range c.Messages {
		if !em.Complete {
			continue
		}
		if i >= len(r.Msgs) || !r.Msgs[i].Complete {
			t.Errorf("%s: message %d complete in llhttp, not here\n%v", c.ID, i, r)
			return
		}
		m := r.Msgs[i]
		if em.Method != nil && *em.Method != m.Method {
			t.Errorf("%s: message %d method %q, want %q", c.ID, i, m.Method, *em.Method)
		}
		if em.URL != nil && *em.URL != m.Target {
			t.Errorf("%s: message %d target %q, want %q", c.ID, i, m.Target, *em.URL)
		}
		if em.Status != nil && *em.Status != m.Status {
			t.Errorf("%s: message %d status %d, want %d", c.ID, i, m.Status, *em.Status)
		}
		if em.Reason != nil && *em.Reason != m.Reason {
			t.Errorf("%s: message %d reason %q, want %q", c.ID, i, m.Reason, *em.Reason)
		}
		if em.Version != nil && *em.Version != "1."+string(rune('0'+m.Minor)) {
			t.Errorf("%s: message %d version 1.%d, want %s", c.ID, i, m.Minor, *em.Version)
		}
		hs := m.Headers
		if hostAdded && len(hs) > 0 && hs[0] == [2]string{"Host", "localhost"} &&
			(len(em.Headers) == 0 || em.Headers[0] != [2]string{"Host", "localhost"}) {
			hs = hs[1:]
		}
		if !sameFields(hs, em.Headers) {
			t.Errorf("%s: message %d headers %q, want %q", c.ID, i, hs, em.Headers)
		}
		if !sameFields(m.Trailers, em.Trailers) {
			t.Errorf("%s: message %d trailers %q, want %q", c.ID, i, m.Trailers, em.Trailers)
		}
		var body []byte
		switch {
		case em.Body.Text != nil:
			body = []byte(*em.Body.Text)
		case em.Body.B64 != nil:
			body = decode(t, *em.Body.B64)
		}
		if !bytes.Equal(m.Body, body) {
			t.Errorf("%s: message %d body %q, want %q", c.ID, i, m.Body, body)
		}
	}
}

// sameFields compares field lists; llhttp keeps trailing whitespace in
// values, which RFC 9110 5.5 says is not part of the value.
func sameFields(got, want [][2]string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i][0] != want[i][0] || got[i][1] != strings.TrimRight(want[i][1], " \t") {
			return false
		}
	}
	return true
}

// responseDifferences lists the response cases where the verdict differs
// from llhttp's, with the reason.
var responseDifferences = map[string]difference{
	"response/sample.md:40": {oReject, "RFC 9112 2.3",
		"RTSP/1.1 is not HTTP: HTTP-name is the case-sensitive \"HTTP\""},
	"response/sample.md:60": {oReject, "RFC 9112 2.3",
		"ICE/1.1 is not HTTP: HTTP-name is the case-sensitive \"HTTP\""},
	"response/sample.md:645": {oReject, "RFC 9112 2.3, RFC 9110 6.2",
		"HTTP/0.9 has no status line; a status line naming 0.9 is an unsupported version"},
	"response/content-length.md:123": {oIncomplete, "RFC 9112 6.3",
		"llhttp's test skips the body with a test-only callback; without it the second response is 123 body bytes in progress (node's llhttp agrees: incomplete)"},
}

func TestCorpusResponses(t *testing.T) {
	cases := loadCorpus(t, "llhttp-responses.json")
	agree, differ := 0, 0
	seen := map[string]bool{}
	for _, c := range cases {
		raw := decode(t, c.Raw)
		results := map[string]*result{}
		for how, chunks := range splits(raw) {
			results[how] = drive(Response, Limits{}, chunks, true)
		}
		whole := results["whole"]
		for how, r := range results {
			if !sameResult(whole, r) {
				t.Errorf("%s (%s): split %q differs from whole:\nwhole: %v\n%s: %v", c.ID, c.Name, how, whole, how, r)
			}
		}
		want := c.expected()
		got := whole.outcome()
		if d, ok := responseDifferences[c.ID]; ok {
			seen[c.ID] = true
			differ++
			if got != d.ours {
				t.Errorf("%s (%s): listed difference says %s, parser gives %s\n%v", c.ID, c.Name, d.ours, got, whole)
			}
			if d.ours == want {
				t.Errorf("%s: listed as a difference but agrees with llhttp (%s)", c.ID, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s (%s): llhttp %s, parser %s\ninput %q\n%v", c.ID, c.Name, want, got, raw, whole)
			continue
		}
		agree++
		if c.Strict {
			checkMessages(t, &c, whole, false)
		}
	}
	for id := range responseDifferences {
		if !seen[id] {
			t.Errorf("difference %s names no corpus case", id)
		}
	}
	t.Logf("llhttp response corpus: %d of %d cases agree, %d deliberate differences", agree, len(cases), differ)
}
