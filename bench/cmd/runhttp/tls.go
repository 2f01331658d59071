package main

// The HTTPS benchmark (-tls): the harness generates one ECDSA P-256
// self-signed certificate for 127.0.0.1 into a temporary directory and
// gives it to every server (-cert/-key for the Go peers, the generated
// nginx config, {cert}/{key} in -ioloop-https-args). Every server must
// then pass checkTLS, and is measured under two loads and one memory test:
//
//   - keep-alive: wrk over https:// (one request in flight on each of
//     -conns connections, path /), whose connections shake hands once;
//   - handshake: bin/handshakes, -hs-conns connections in flight, each a
//     new TCP connection with a full TLS 1.3 handshake (no session cache,
//     X25519) and one GET / with Connection: close. wrk is not used for
//     it: asked to reconnect for every request, it resumes the first
//     session (OpenSSL keeps it on the SSL object that wrk clears and
//     reuses), so almost no handshake would be a full one;
//   - idle memory: bin/idleconns -tls-ca opens -idle TLS connections that
//     each make one GET / and stay open.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/ioloop/ioloop/bench/internal/testcert"
	"github.com/ioloop/ioloop/bench/internal/tlscert"
)

// tlsDir is the temporary directory holding the certificate, removed by
// killAll and at the end of main.
var tlsDir string

// setupTLS writes the certificate and key into a new temporary directory
// and records their paths in c.
func setupTLS(c *config) (dir string, err error) {
	dir, err = os.MkdirTemp("", "runhttp-tls-")
	if err != nil {
		return "", err
	}
	c.cert, c.key, err = testcert.WriteFiles(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	tlsDir = dir
	return dir, nil
}

// checkTLS checks the HTTPS server on addr and returns the TLS suite it
// chose: a TLS 1.3 handshake verifying the certificate at certPath for
// 127.0.0.1 (ECDSA), two keep-alive GET / on that connection, each
// answered as checkResponse wants with nothing after them; then, on a new
// connection, one GET / with Connection: close (what the handshake
// workload sends) answered 200 with the body. It takes 10 s at most.
func checkTLS(addr, certPath string) (string, error) {
	pool, err := tlscert.Pool(certPath)
	if err != nil {
		return "", err
	}
	cfg := tlscert.ClientConfig(pool)
	c, err := dialTLS(addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	cs := c.ConnectionState()
	if cs.Version != tls.VersionTLS13 {
		return "", fmt.Errorf("TLS version %#x, want 1.3", cs.Version)
	}
	if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].PublicKeyAlgorithm != x509.ECDSA {
		return "", errors.New("the server did not present the ECDSA certificate")
	}
	cipher := tls.CipherSuiteName(cs.CipherSuite)
	r := bufio.NewReader(c)
	for i := 1; i <= 2; i++ {
		if _, err := io.WriteString(c, tlsRequest(addr, "keep-alive")); err != nil {
			return "", fmt.Errorf("request %d: %w", i, err)
		}
		head, got, err := readResponse(r)
		if err != nil {
			return "", fmt.Errorf("keep-alive response %d: %w", i, err)
		}
		if err := checkResponse(head, got, time.Now()); err != nil {
			return "", fmt.Errorf("keep-alive response %d: %w", i, err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return "", errors.New("bytes after the responses")
	}

	c2, err := dialTLS(addr, cfg)
	if err != nil {
		return "", err
	}
	defer c2.Close()
	if _, err := io.WriteString(c2, tlsRequest(addr, "close")); err != nil {
		return "", err
	}
	head, got, err := readResponse(bufio.NewReader(c2))
	if err != nil {
		return "", fmt.Errorf("Connection: close response: %w", err)
	}
	if len(head) < 12 || string(head[:12]) != "HTTP/1.1 200" || string(got) != body {
		return "", fmt.Errorf("Connection: close response %q %q", head, got)
	}
	return cipher, nil
}

// dialTLS connects to addr and completes a handshake within 5 s; the
// connection's deadline is 5 s from the dial.
func dialTLS(addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, Deadline: time.Now().Add(5 * time.Second)}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// tlsRequest is the GET / of the HTTPS checks, with wrk's headers and the
// Connection header given.
func tlsRequest(addr, connection string) string {
	return "GET /plaintext HTTP/1.1\r\nHost: " + addr + "\r\n" +
		"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
		"Connection: " + connection + "\r\n\r\n"
}
