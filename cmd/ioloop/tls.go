package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/ioloop/ioloop/internal/selfsigned"
)

// serverCert returns the certificate of `serve --https`: the pair in
// certFile and keyFile (PEM), or with both empty an ephemeral self-signed
// ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1. about describes
// it with its SHA-256 fingerprint, for the line serve prints.
func serverCert(certFile, keyFile string) (cert tls.Certificate, about string, err error) {
	if (certFile == "") != (keyFile == "") {
		return tls.Certificate{}, "", errors.New("--tls-cert and --tls-key go together: give both files or neither (then an ephemeral self-signed certificate is made)")
	}
	if certFile == "" {
		c, err := selfsigned.New()
		if err != nil {
			return tls.Certificate{}, "", err
		}
		return c.TLS, "ephemeral " + c.String(), nil
	}
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("--tls-cert %s --tls-key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("--tls-cert %s: %w", certFile, err)
		}
	}
	about = fmt.Sprintf("%s: subject %q, DNS %v, IP %v, SHA-256 %s",
		certFile, leaf.Subject.String(), leaf.DNSNames, leaf.IPAddresses, selfsigned.Fingerprint(leaf.Raw))
	return cert, about, nil
}

// clientTLS returns the client configuration of `bench http` and `bench
// ws` against https:// and wss:// targets: roots from caFile (PEM) when
// given, else the system's; insecure skips verification altogether.
func clientTLS(insecure bool, caFile string) (*tls.Config, error) {
	if insecure && caFile != "" {
		return nil, errors.New("--insecure and --cacert contradict each other: give one")
	}
	cfg := &tls.Config{InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
