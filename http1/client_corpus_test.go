package http1

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// clientCorpusCase is the part of a conformance corpus case the client test
// reads.
type clientCorpusCase struct {
	ID            string                    `json:"id"`
	Name          string                    `json:"name"`
	Strict        bool                      `json:"strict"`
	Verdict       string                    `json:"verdict"`
	StrictVerdict *struct{ Verdict string } `json:"strict_verdict"`
	SkipBody      bool                      `json:"skip_body"`
	Raw           string                    `json:"raw_b64"`
	Messages      []struct {
		Status   *int        `json:"status"`
		Reason   *string     `json:"reason"`
		Headers  [][2]string `json:"headers"`
		Trailers [][2]string `json:"trailers"`
		Complete bool        `json:"complete"`
		Body     struct {
			Text *string `json:"text"`
			B64  *string `json:"b64"`
		} `json:"body"`
	} `json:"messages"`
}

// TestClientCorpusResponses plays each response of the llhttp corpus from a
// server that then closes, and checks what the client makes of it: an
// accepted first response arrives with llhttp's status, reason, header
// fields, body and trailers (1xx responses skipped); a rejected one fails
// with an http1 error; one whose body llhttp still waits for is accepted
// when the close ends it, else fails.
func TestClientCorpusResponses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "conformance", "llhttp-responses.json"))
	if err != nil {
		t.Skipf("conformance corpus not available (%v); it lives in ../shared/conformance beside the checkout", err)
	}
	var f struct{ Cases []clientCorpusCase }
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	checkLeaks(t)
	var mu sync.Mutex
	var answer []byte
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		readRequest(r)
		mu.Lock()
		b := answer
		mu.Unlock()
		_, _ = c.Write(b)
	})
	cl := newClient(t, nil)
	agree, skipped := 0, 0
	var disagree []string
	for _, c := range f.Cases {
		verdict := c.Verdict
		if !c.Strict && c.StrictVerdict != nil {
			verdict = c.StrictVerdict.Verdict
		}
		if c.SkipBody || verdict == "upgrade" {
			skipped++ // a HEAD-like body skip or a protocol switch: not a plain GET exchange
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		answer = raw
		mu.Unlock()
		resp, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/"), Close: true})
		// The client skips 1xx responses: compare with the first final one.
		final := -1
		for i, m := range c.Messages {
			if m.Status != nil && *m.Status >= 200 {
				final = i
				break
			}
		}
		// complete: llhttp finished the final response, so must the client.
		// partial: llhttp parsed its head and waits for more body; the server
		// then closes, which ends a close-delimited body (the client accepts)
		// and cuts any other (the client fails).
		complete := strings.HasPrefix(verdict, "accept") && final >= 0 && c.Messages[final].Complete
		partial := !complete && verdict != "reject" && final >= 0
		switch {
		case complete && err != nil:
			disagree = append(disagree, c.ID+" ("+c.Name+"): llhttp accepts, client: "+err.Error())
		case !complete && !partial && err == nil:
			disagree = append(disagree, c.ID+" ("+c.Name+"): llhttp "+verdict+", client accepted status "+itoa(resp.StatusCode))
		case err != nil:
			if !strings.HasPrefix(err.Error(), "http1: ") {
				t.Errorf("%s: error without the package prefix: %v", c.ID, err)
			}
			agree++
		default:
			m := c.Messages[final]
			var why []string
			if m.Status != nil && *m.Status != resp.StatusCode {
				why = append(why, "status "+itoa(resp.StatusCode))
			}
			if m.Reason != nil && *m.Reason != string(resp.Reason()) {
				why = append(why, "reason "+string(resp.Reason()))
			}
			if len(m.Headers) != resp.NumHeaders() {
				why = append(why, "header count "+itoa(resp.NumHeaders()))
			} else {
				for i, h := range m.Headers {
					if n, v := resp.HeaderAt(i); string(n) != h[0] || string(v) != h[1] {
						why = append(why, "header "+string(n)+": "+string(v))
					}
				}
			}
			if len(m.Trailers) != resp.NumTrailers() {
				why = append(why, "trailer count "+itoa(resp.NumTrailers()))
			}
			body := ""
			if m.Body.Text != nil {
				body = *m.Body.Text
			} else if m.Body.B64 != nil {
				b, _ := base64.StdEncoding.DecodeString(*m.Body.B64)
				body = string(b)
			}
			if body != string(resp.Body()) {
				why = append(why, "body "+string(resp.Body()))
			}
			if len(why) > 0 {
				t.Errorf("%s (%s): %s", c.ID, c.Name, strings.Join(why, "; "))
			} else {
				agree++
			}
		}
	}
	for _, d := range disagree {
		t.Error(d)
	}
	t.Logf("llhttp response corpus through the client: %d of %d cases agree, %d skipped, %d differ", agree, len(f.Cases), skipped, len(disagree))
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
