package http1_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/http1"
)

// exampleServer starts a server that answers every path with its own name
// in upper case.
func exampleServer(g *ioloop.Group) string {
	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		_, _ = w.Write([]byte(strings.ToUpper(string(r.Path()[1:]))))
	})}
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return "http://" + ln.Addr().String()
}

// A fan-out fetch: many requests in flight at once over a small pool, the
// results gathered with async.All.
func ExampleClient_fanOut() {
	g, err := ioloop.New(ioloop.Options{Loops: 2})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	base := exampleServer(g)

	cl := &http1.Client{Group: g, MaxConnsPerHost: 4}
	defer cl.Close()
	names := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}
	futures := make([]*async.Future[string], len(names))
	for i, n := range names {
		futures[i] = async.Map(cl.Get(base+"/"+n), func(r *http1.Response) string {
			return fmt.Sprintf("%d %s", r.StatusCode, r.Body())
		})
	}
	all, err := async.All(futures...).Await(context.Background())
	if err != nil {
		panic(err)
	}
	for _, line := range all {
		fmt.Println(line)
	}
	// Output:
	// 200 ALPHA
	// 200 BETA
	// 200 GAMMA
	// 200 DELTA
	// 200 EPSILON
	// 200 ZETA
}

// DoFunc lends the response to a callback on the loop: no allocation per
// request once the pools are warm.
func ExampleClient_DoFunc() {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	base := exampleServer(g)
	cl := &http1.Client{Group: g}
	defer cl.Close()

	done := make(chan string, 1)
	req := &http1.ClientRequest{URL: base + "/lent"}
	cl.DoFunc(req, func(r *http1.Response, err error) {
		if err != nil {
			done <- err.Error()
			return
		}
		done <- string(r.Body()) // copy: the body is valid only during the callback
	})
	fmt.Println(<-done)
	// Output: LENT
}

// A streamed body is read from a goroutine; the connection stops reading
// while the reader lags.
func ExampleResponse_BodyReader() {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	base := exampleServer(g)
	cl := &http1.Client{Group: g}
	defer cl.Close()

	resp, err := cl.DoContext(context.Background(), &http1.ClientRequest{URL: base + "/streamed", Stream: true})
	if err != nil {
		panic(err)
	}
	body := resp.BodyReader()
	defer body.Close()
	b, err := io.ReadAll(body)
	fmt.Println(string(b), err)
	// Output: STREAMED <nil>
}
