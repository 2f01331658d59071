package selfsigned

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewVerifiesAndLoads(t *testing.T) {
	c, err := New("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: c.Pool}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: c.Pool}); err == nil {
		t.Error("verified for a name it does not carry")
	}
	pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatalf("PEM does not load: %v", err)
	}
	if string(pair.Certificate[0]) != string(c.TLS.Certificate[0]) {
		t.Fatal("PEM certificate differs from the DER one")
	}
	sum := sha256.Sum256(c.Leaf.Raw)
	if got := strings.ReplaceAll(Fingerprint(c.Leaf.Raw), ":", ""); got != strings.ToUpper(hex.EncodeToString(sum[:])) || len(Fingerprint(c.Leaf.Raw)) != 95 {
		t.Fatalf("fingerprint %q", Fingerprint(c.Leaf.Raw))
	}
}
