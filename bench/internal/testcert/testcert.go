// Package testcert writes the self-signed certificate that the TLS
// benchmark harnesses give to every server they compare, as PEM files: the
// one the project itself makes (internal/selfsigned: an ECDSA P-256 key,
// PKCS #8, and a certificate for localhost, 127.0.0.1 and ::1 that is its
// own CA, valid from an hour ago for 30 days).
//
// Contract: every function is safe from any goroutine and allocates; the
// key comes from crypto/rand, so two calls give different certificates.
// Errors start with "testcert: ".
package testcert

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ioloop/ioloop/internal/selfsigned"
)

// Generate returns a fresh certificate and its key, PEM-encoded (blocks
// "CERTIFICATE" and "PRIVATE KEY"). A client trusts it by adding it to a
// pool. It costs one key generation and one signature.
func Generate() (certPEM, keyPEM []byte, err error) {
	c, err := selfsigned.New()
	if err != nil {
		return nil, nil, fmt.Errorf("testcert: %w", err)
	}
	return c.CertPEM, c.KeyPEM, nil
}

// WriteFiles generates a certificate with Generate and writes it to
// dir/cert.pem (mode 0644) and its key to dir/key.pem (mode 0600),
// creating dir if needed. It returns the two paths.
func WriteFiles(dir string) (certFile, keyFile string, err error) {
	certPEM, keyPEM, err := Generate()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("testcert: %w", err)
	}
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("testcert: %w", err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("testcert: %w", err)
	}
	return certFile, keyFile, nil
}
