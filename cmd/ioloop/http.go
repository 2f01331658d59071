package main

import "github.com/ioloop/ioloop/http1"

// httpHandler serves the routes of `ioloop serve --http` on the loop:
//
//	GET /plaintext  200 text/plain "Hello, World!"
//	GET /json       200 application/json {"message":"Hello, World!"}
//	*   /echo       the request body, streamed back (chunked when the request
//	                was chunked, else with its Content-Length)
//	anything else   404, after reading the body; the connection stays open
type httpHandler struct{}

func (httpHandler) ServeHTTP1(w *http1.ResponseWriter, r *http1.Request) {
	switch string(r.Path()) {
	case "/plaintext":
		if isGet(r) {
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("Hello, World!")
			return
		}
	case "/json":
		if isGet(r) {
			_ = w.AddHeader("Content-Type", "application/json")
			_, _ = w.WriteString(`{"message":"Hello, World!"}`)
			return
		}
	case "/echo":
		if r.Chunked() {
			_ = w.Flush() // send the head now: the body goes out chunked
		} else if n := r.ContentLength(); n >= 0 {
			_ = w.SetContentLength(n)
		}
		r.ReadBody(echoBody{})
		return
	}
	_ = w.SetStatus(404)
	_ = w.AddHeader("Content-Type", "text/plain")
	_, _ = w.WriteString("404 page not found\n")
}

// isGet reports whether the method is GET or HEAD (HEAD gets GET's headers).
func isGet(r *http1.Request) bool {
	m := string(r.Method())
	return m == "GET" || m == "HEAD"
}

// echoBody writes each piece of the request body back as it arrives; the
// connection's water marks pause reading while the client does not read.
type echoBody struct{}

func (echoBody) OnBody(w *http1.ResponseWriter, r *http1.Request, chunk []byte, last bool) {
	_, _ = w.Write(chunk)
	if last {
		for i := range r.NumTrailers() {
			_ = w.AddTrailerBytes(r.TrailerAt(i))
		}
	}
}
