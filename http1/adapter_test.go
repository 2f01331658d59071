package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func adapterMux(t *testing.T, gone chan<- error) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello %s %s", r.PathValue("name"), r.URL.Query().Get("q"))
	})
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Trailer", "X-Sum")
		fmt.Fprintf(w, "%d", n)
		w.(http.Flusher).Flush()
		w.Header().Set("X-Sum", fmt.Sprintf("%x", h.Sum(nil)))
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		for i := range 5 {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for range 256 { // 16 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		_, _, err := w.(http.Hijacker).Hijack()
		if !errors.Is(err, ErrHijackUnsupported) {
			t.Errorf("Hijack: %v", err)
		}
		w.WriteHeader(http.StatusNotImplemented)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("GET /wait", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		gone <- r.Context().Err()
	})
	return mux
}

func TestAdapterServeMux(t *testing.T) {
	checkLeaks(t)
	gone := make(chan error, 1)
	addr := serve(t, &Server{Handler: Adapt(adapterMux(t, gone)), Logger: quietLogger()}, ioloop.Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	base := "http://" + addr

	get := func(path string) (*http.Response, string) {
		resp, err := cl.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s body: %v", path, err)
		}
		return resp, string(b)
	}
	for range 3 { // keep-alive reuse
		resp, body := get("/hello/bob?q=x")
		if resp.StatusCode != 200 || body != "hello bob x" || resp.Header.Get("Content-Length") != "11" ||
			resp.Header.Get("Server") != "ioloop" || resp.Header.Get("Date") == "" {
			t.Fatalf("hello: %d %q %v", resp.StatusCode, body, resp.Header)
		}
	}
	if resp, body := get("/stream"); body != "line 0\nline 1\nline 2\nline 3\nline 4\n" || resp.TransferEncoding == nil {
		t.Fatalf("stream: %q %v", body, resp.TransferEncoding)
	}
	if resp, body := get("/big"); len(body) != 16<<20 || resp.ContentLength != -1 {
		t.Fatalf("big: %d bytes, cl %d", len(body), resp.ContentLength)
	}
	if resp, _ := get("/hijack"); resp.StatusCode != 501 {
		t.Fatalf("hijack: %d", resp.StatusCode)
	}
	if resp, body := get("/nope"); resp.StatusCode != 404 || !strings.Contains(body, "404") {
		t.Fatalf("404: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get("/panic"); resp.StatusCode != 500 {
		t.Fatalf("panic: %d", resp.StatusCode)
	}

	// A streamed chunked upload larger than the body buffer, with trailers
	// in the response.
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 10000)
		for range 100 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/sum", pr)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := sha256.Sum256(bytes.Repeat([]byte("x"), 1000000))
	if string(b) != "1000000" || resp.Trailer.Get("X-Sum") != fmt.Sprintf("%x", want) || resp.Trailer.Get("X-Late") != "yes" {
		t.Fatalf("sum: %q trailers %v", b, resp.Trailer)
	}

	// The request context ends when the client goes away.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", base+"/wait", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-gone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("context: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("request context not cancelled after the client left")
	}
	<-errc
}

// TestAdapterExpectContinue: "100 Continue" goes out when the handler first
// reads the body, as with net/http.
func TestAdapterExpectContinue(t *testing.T) {
	checkLeaks(t)
	h := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s", b)
	}))
	addr := serve(t, &Server{Handler: h}, ioloop.Options{})
	c := dial(t, addr)
	fmt.Fprint(c, "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("%q %v", line, err)
	}
	if line, _ := br.ReadString('\n'); line != "\r\n" {
		t.Fatalf("%q", line)
	}
	fmt.Fprint(c, "abc")
	resp, body := readResponse(t, br, "POST")
	if resp.StatusCode != 200 || body != "got abc" || resp.Close {
		t.Fatalf("%d %q close=%v", resp.StatusCode, body, resp.Close)
	}
}
