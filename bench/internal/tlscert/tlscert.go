// Package tlscert writes the self-signed certificate that the HTTPS
// benchmark gives every server, and loads it back for the clients.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Generate creates an ECDSA P-256 key and a self-signed certificate for
// the IP address 127.0.0.1 (valid from an hour ago for validity), and
// writes them as PEM to dir/cert.pem and dir/key.pem (the key as PKCS#8,
// mode 0600). It returns both paths. It costs one key generation and one
// signature.
func Generate(dir string, validity time.Duration) (certPath, keyPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"ioloop bench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// Pool reads the PEM certificates in the file at path into a new pool, for
// a client's RootCAs. It fails when the file holds none.
func Pool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New(path + ": no PEM certificate")
	}
	return pool, nil
}

// ClientConfig returns the benchmark clients' TLS configuration: TLS 1.3
// only, X25519 only (what OpenSSL 3.0 and older Go stacks offer, so that
// every server does the same key exchange; Go's default would add a
// post-quantum hybrid that only some servers accept), no session cache
// (no ticket is ever offered, so every handshake is a full one), and the
// server verified for 127.0.0.1 against pool.
func ClientConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		RootCAs:            pool,
		ServerName:         "127.0.0.1",
		MinVersion:         tls.VersionTLS13,
		MaxVersion:         tls.VersionTLS13,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		ClientSessionCache: nil,
	}
}

// Files is the certificate and key a benchmark peer is given with -cert
// and -key: both to serve HTTPS, neither to serve plain HTTP.
type Files struct {
	Cert, Key string
}

// AddFlags registers -cert and -key on fs, filling f when fs is parsed.
func (f *Files) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.Cert, "cert", "", "PEM certificate: serve HTTPS (TLS 1.3 only) with -key")
	fs.StringVar(&f.Key, "key", "", "PEM private key of -cert")
}

// Enabled reports whether both files were given; it fails when only one
// was.
func (f *Files) Enabled() (bool, error) {
	if (f.Cert == "") != (f.Key == "") {
		return false, errors.New("-cert and -key go together")
	}
	return f.Cert != "", nil
}
