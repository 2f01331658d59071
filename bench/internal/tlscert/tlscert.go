// Package tlscert is the client and peer side of the HTTPS benchmark's
// certificate (which internal/testcert writes): a pool to verify it, the
// clients' TLS configuration, and the peers' -cert/-key flags.
package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"os"
)

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
