// Package selfsigned makes ephemeral self-signed TLS certificates: an ECDSA
// P-256 key and a certificate for the given host names and IP addresses,
// valid from an hour ago for 30 days. `ioloop serve --https` uses one when
// it is given no certificate, and the tests use them for their servers.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Cert is a self-signed certificate and its key.
type Cert struct {
	// TLS is the certificate and key for tls.Config.Certificates.
	TLS tls.Certificate
	// Leaf is the parsed certificate; Pool holds it as the only root, for
	// a client's tls.Config.RootCAs.
	Leaf *x509.Certificate
	Pool *x509.CertPool
	// CertPEM and KeyPEM are the certificate and the PKCS #8 key in PEM,
	// for programs that read files (curl --cacert, nginx, openssl).
	CertPEM, KeyPEM []byte
}

// New makes a certificate for hosts (DNS names or IP addresses; default
// "localhost", "127.0.0.1" and "::1"). Costs one key generation and one
// signature.
func New(hosts ...string) (*Cert, error) {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &Cert{
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:    leaf,
		Pool:    pool,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}, nil
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate, as
// colon-separated upper-case hex (the form `openssl x509 -fingerprint
// -sha256` prints).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// String describes the certificate: its names and fingerprint.
func (c *Cert) String() string {
	return fmt.Sprintf("self-signed ECDSA P-256 for %v %v, SHA-256 %s", c.Leaf.DNSNames, c.Leaf.IPAddresses, Fingerprint(c.Leaf.Raw))
}
