package ioloop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestTLSRejectedByConfig: a server name the GetCertificate callback does
// not know, and an expired client certificate, each fail only their
// handshake: the client gets crypto/tls's alert, the handler sees nothing,
// the failure is counted, and a good client is served by the same
// listener afterwards.
func TestTLSRejectedByConfig(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	r := newRecorder()
	cfg := &tls.Config{
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName != "localhost" {
				return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
			}
			c := testCert().TLS
			return &c, nil
		},
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  testCert().Pool,
	}
	ln, err := g.ListenTLS("tcp", "127.0.0.1:0", cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	expectClosed := func(name string) {
		t.Helper()
		select {
		case err := <-r.closed:
			if !errors.Is(err, ioloop.ErrTLSHandshake) {
				t.Fatalf("%s: OnClose(%v), want ErrTLSHandshake", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no OnClose", name)
		}
	}

	wrong := clientConfig(tls.VersionTLS13)
	wrong.ServerName = "unknown.example"
	_, err = tls.Dial("tcp", addr, wrong)
	if err == nil || !strings.Contains(err.Error(), "remote error") {
		t.Fatalf("wrong SNI: %v, want the server's alert", err)
	}
	expectClosed("wrong SNI")

	expired := clientConfig(tls.VersionTLS12) // in 1.2 the server's verdict comes within the handshake
	expired.Certificates = []tls.Certificate{expiredCert(t)}
	_, err = tls.Dial("tcp", addr, expired)
	if err == nil || !strings.Contains(err.Error(), "remote error") {
		t.Fatalf("expired client certificate: %v, want the server's alert", err)
	}
	expectClosed("expired client certificate")

	c, err := tls.Dial("tcp", addr, clientConfig(tls.VersionTLS13))
	if err != nil {
		t.Fatalf("a good client after the failures: %v", err)
	}
	c.Close()
	<-r.closed
	if ev := r.seen(); len(ev) != 2 || ev[0] != "open" || ev[1] != "eof" {
		t.Fatalf("handler saw %v, want only the good client's open and eof", ev)
	}
	if s := g.TLSStats(); s.HandshakeErrors != 2 || s.Handshakes != 1 {
		t.Fatalf("stats %+v, want 2 errors and 1 handshake", s)
	}
}

// expiredCert returns a client certificate signed by the test CA that
// expired yesterday.
func expiredCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "expired client"},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     time.Now().Add(-24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	ca := testCert()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Leaf, &key.PublicKey, ca.TLS.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
