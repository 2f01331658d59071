package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ioloop/ioloop/bench/internal/testcert"
)

func TestGenerateServesTLS13(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, err := testcert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("public key %T, want ECDSA P-256", leaf.PublicKey)
	}
	pool, err := Pool(certPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.WriteString(c, "ok")
		done <- err
	}()
	// The certificate verifies for 127.0.0.1 against itself as the root.
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Fatalf("version %x", v)
	}
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "ok" {
		t.Fatalf("read %q, %v", b, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// And not for another name.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"}); err == nil {
		t.Fatal("verified for example.com")
	}
}

func TestPoolRejectsNonPEM(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(p, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Pool(p); err == nil {
		t.Fatal("no error")
	}
	if _, err := Pool(p + ".missing"); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestFiles(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		enabled bool
		bad     bool
	}{
		{args: nil},
		{args: []string{"-cert", "c.pem", "-key", "k.pem"}, enabled: true},
		{args: []string{"-cert", "c.pem"}, bad: true},
		{args: []string{"-key", "k.pem"}, bad: true},
	} {
		var f Files
		fs := flag.NewFlagSet("peer", flag.ContinueOnError)
		f.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		on, err := f.Enabled()
		if on != tc.enabled || (err != nil) != tc.bad {
			t.Errorf("%q: enabled %v, error %v", tc.args, on, err)
		}
		if tc.enabled && (f.Cert != "c.pem" || f.Key != "k.pem") {
			t.Errorf("%q: files %+v", tc.args, f)
		}
	}
}
