package http1_test

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/internal/selfsigned"
)

// Serving HTTPS with Server.TLSConfig, and requesting it with the Client
// (which verifies the certificate against Client.TLSConfig.RootCAs).
func ExampleServer_tls() {
	g, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer g.Close()
	// A certificate for 127.0.0.1; a real server loads its own with
	// tls.LoadX509KeyPair.
	cert, err := selfsigned.New("127.0.0.1")
	if err != nil {
		panic(err)
	}
	s := &http1.Server{
		Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
			if st := r.TLS(); st != nil {
				_, _ = fmt.Fprintf(w, "%s, ALPN %s", tls.VersionName(st.Version), st.NegotiatedProtocol)
			}
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert.TLS}},
	}
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Close()

	cl := &http1.Client{Group: g, TLSConfig: &tls.Config{RootCAs: cert.Pool}}
	defer cl.Close()
	resp, err := cl.DoContext(context.Background(), &http1.ClientRequest{URL: "https://" + ln.Addr().String() + "/"})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, string(resp.Body()))
	resp.Release()
	// Output: 200 TLS 1.3, ALPN http/1.1
}
