package http1_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
)

// A native handler: it runs on the loop and allocates nothing per request.
func Example() {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		_ = w.AddHeader("Content-Type", "text/plain")
		_, _ = fmt.Fprintf(w, "path %s query %s", r.Path(), r.Query())
	})}
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/hello?x=1")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Server"), string(body))
	// Output: 200 ioloop path /hello query x=1
}

// upper streams the request body back in upper case as it arrives.
type upper struct{}

func (upper) OnBody(w *http1.ResponseWriter, r *http1.Request, chunk []byte, last bool) {
	for i, c := range chunk {
		if 'a' <= c && c <= 'z' {
			chunk[i] = c - 'a' + 'A' // the lent bytes may be changed in place
		}
	}
	_, _ = w.Write(chunk)
}

// Streaming a request body with Request.ReadBody.
func ExampleRequest_ReadBody() {
	g, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer g.Close()
	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		r.ReadBody(upper{})
	})}
	ln, _ := s.Listen(g, "tcp", "127.0.0.1:0")
	resp, err := http.Post("http://"+ln.Addr().String()+"/", "text/plain", strings.NewReader("streamed body"))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: STREAMED BODY
}

// Answering later from the loop with Hold and End.
func ExampleResponseWriter_Hold() {
	g, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer g.Close()
	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		w.Hold()
		r.Conn().Loop().AfterFunc(10*time.Millisecond, func() {
			_, _ = w.WriteString("later")
			_ = w.End()
		})
	})}
	ln, _ := s.Listen(g, "tcp", "127.0.0.1:0")
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: later
}

// Running a net/http handler (here the standard ServeMux) on the worker
// pool.
func ExampleAdapt() {
	g, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer g.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "item %s", r.PathValue("id"))
	})
	s := &http1.Server{Handler: http1.Adapt(mux)}
	ln, _ := s.Listen(g, "tcp", "127.0.0.1:0")
	resp, err := http.Get("http://" + ln.Addr().String() + "/items/42")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 item 42
}
