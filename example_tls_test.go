package ioloop_test

import (
	"crypto/tls"
	"fmt"
	"io"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/selfsigned"
)

// The upper handler of Example, served over TLS: the handler is the same,
// it sees plaintext, and the loop encrypts what it writes.
func ExampleGroup_ListenTLS() {
	cert, err := selfsigned.New("localhost") // in a program: tls.LoadX509KeyPair
	if err != nil {
		panic(err)
	}
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	ln, err := g.ListenTLS("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, upper{})
	if err != nil {
		panic(err)
	}
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: cert.Pool, ServerName: "localhost"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hello over tls")
	b := make([]byte, 14)
	if _, err := io.ReadFull(c, b); err != nil {
		panic(err)
	}
	fmt.Printf("%s (TLS 1.%d)\n", b, c.ConnectionState().Version-tls.VersionTLS10)
	// Output: HELLO OVER TLS (TLS 1.3)
}
