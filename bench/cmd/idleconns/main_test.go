package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/ioloop/ioloop/bench/internal/testcert"
	"github.com/ioloop/ioloop/bench/internal/tlscert"
)

func TestReadResponse(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	for _, tc := range []struct {
		name, in string
		good     bool
	}{
		{name: "good", in: ok, good: true},
		{name: "no reason phrase", in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", good: true},
		{name: "404", in: strings.Replace(ok, "200 OK", "404 Not Found", 1)},
		{name: "no length", in: "HTTP/1.1 200 OK\r\n\r\nhello"},
		{name: "two lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
		{name: "short body", in: ok[:len(ok)-1]},
		{name: "extra bytes", in: ok + "x"},
		{name: "bad length", in: strings.Replace(ok, "5", "-1", 1)},
	} {
		err := readResponse(bufio.NewReader(strings.NewReader(tc.in)))
		if tc.good != (err == nil) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

// TestGetOnce checks the request idleconns sends and that the connection
// stays usable (open, nothing pending) after the response.
func TestGetOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				got <- err.Error()
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		got <- head.String()
		// Hold the connection until the client closes it.
		_, _ = io.Copy(io.Discard, r)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := getOnce(c, "h:1", "/plaintext"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if g, want := <-got, "GET /plaintext HTTP/1.1\r\nHost: h:1\r\nConnection: keep-alive\r\n\r\n"; g != want {
		t.Fatalf("request %q, want %q", g, want)
	}
}

// TestHandshakeThenGet runs the -tls-ca path against a TLS 1.3 server:
// a full handshake, then the keep-alive GET over TLS; and refuses a
// server that stops at TLS 1.2.
func TestHandshakeThenGet(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, err := testcert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tlscert.Pool(certPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		max  uint16
		good bool
	}{{"TLS 1.3", tls.VersionTLS13, true}, {"TLS 1.2", tls.VersionTLS12, false}} {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			_, _ = io.Copy(io.Discard, c)
		}()
		raw, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := handshake(raw, tlscert.ClientConfig(pool))
		if !tc.good {
			if err == nil {
				t.Errorf("%s: handshake accepted", tc.name)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if err := getOnce(c, ln.Addr().String(), "/"); err != nil {
			t.Errorf("%s: GET: %v", tc.name, err)
		}
		raw.Close()
		ln.Close()
		<-done
	}
}
