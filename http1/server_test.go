package http1

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

const plainResp = "HTTP/1.1 200 OK\r\nServer: ioloop\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"

func TestPlaintextExactBytes(t *testing.T) {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	c := dial(t, addr)
	fmt.Fprint(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	got := normalize(readAll(t, c))
	want := plainResp + strings.Replace(plainResp, "Content-Length: 13\r\n", "Content-Length: 13\r\nConnection: close\r\n", 1)
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

// TestPipelineSplits sends a burst of pipelined requests split in two at
// every byte boundary and checks every response arrives once, in order.
func TestPipelineSplits(t *testing.T) {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	burst := "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n" +
		"GET /json HTTP/1.1\r\nHost: a\r\n\r\n" +
		"GET /nope?x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz" +
		"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	for i := 0; i <= len(burst); i++ {
		c := dial(t, addr)
		if _, err := io.WriteString(c, burst[:i]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, burst[i:]); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, c)
		c.Close()
		// Chunk sizes of the streamed echo follow the split; everything
		// else must be the same.
		checkBurst(t, i, got)
	}
}

func checkBurst(t *testing.T, split int, got string) {
	br := bufio.NewReader(strings.NewReader(got))
	type exp struct {
		status int
		body   string
	}
	for i, e := range []exp{{200, "Hello, World!"}, {200, "hello"}, {200, "abcde"},
		{200, `{"message":"Hello, World!"}`}, {404, "not found\n"}, {200, "Hello, World!"}} {
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != e.status || body != e.body {
			t.Fatalf("split %d: response %d: %d %q, want %d %q", split, i, resp.StatusCode, body, e.status, e.body)
		}
		if i == 2 {
			if resp.TransferEncoding == nil || resp.Trailer.Get("T") != "v" {
				t.Fatalf("split %d: chunked echo: te %v trailers %v", split, resp.TransferEncoding, resp.Trailer)
			}
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("split %d: extra bytes %q", split, rest)
	}
}

// TestPipelineOrderWithHeldAndAdapted checks that a response answered later
// (Hold/End on the native side, the worker pool on the adapter's) still
// leaves before the responses of the requests pipelined behind it.
func TestPipelineOrderWithHeldAndAdapted(t *testing.T) {
	checkLeaks(t)
	native := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path()) == "/slow" {
			w.Hold()
			r.Conn().Loop().AfterFunc(30*time.Millisecond, func() {
				_, _ = w.WriteString("slow")
				_ = w.End()
			})
			return
		}
		_, _ = w.Write(r.Path())
	})
	adapted := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s%s", r.URL.Path, b)
	}))
	for name, h := range map[string]Handler{"native": native, "adapter": adapted} {
		t.Run(name, func(t *testing.T) {
			addr := serve(t, &Server{Handler: h}, ioloop.Options{})
			c := dial(t, addr)
			fmt.Fprint(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"+
				"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"+
				"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy"+
				"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			br := bufio.NewReader(strings.NewReader(readAll(t, c)))
			want := []string{"slow", "/a", "/b", "/c"}
			if name == "adapter" {
				want = []string{"/slow", "/a", "/bxy", "/c"}
			} else {
				want[2] = "/b"
			}
			for i, w := range want {
				resp, body := readResponse(t, br, "GET")
				if resp.StatusCode != 200 || body != w {
					t.Fatalf("response %d: %d %q, want %q", i, resp.StatusCode, body, w)
				}
			}
		})
	}
}
