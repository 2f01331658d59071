package tlsio

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
)

// keyLog collects the secrets crypto/tls writes to Config.KeyLogWriter.
type keyLog struct {
	mu      sync.Mutex
	secrets map[string][]byte
}

func (k *keyLog) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 {
			s, err := hex.DecodeString(f[2])
			if err == nil {
				k.secrets[f[0]] = s
			}
		}
	}
	return len(b), nil
}

// expandLabel is HKDF-Expand-Label of RFC 8446, section 7.1, with SHA-256
// and an empty context.
func expandLabel(t *testing.T, secret []byte, label string, n int) []byte {
	t.Helper()
	full := "tls13 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(info, full...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sealRecord returns a TLS 1.3 record carrying inner (content type typ)
// under TLS_AES_128_GCM_SHA256 with the traffic secret and sequence number.
func sealRecord(t *testing.T, secret []byte, seq uint64, typ byte, inner []byte) []byte {
	t.Helper()
	key, iv := expandLabel(t, secret, "key", 16), expandLabel(t, secret, "iv", 12)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Clone(iv)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		nonce[4+i] ^= s[i]
	}
	plain := append(bytes.Clone(inner), typ)
	n := len(plain) + aead.Overhead()
	hdr := []byte{23, 3, 3, byte(n >> 8), byte(n)}
	return aead.Seal(hdr, nonce, plain, hdr)
}

// TestKeyUpdate: crypto/tls has no API that sends a KeyUpdate (go1.26), so
// the test makes the client's records itself from the secrets of
// KeyLogWriter: a KeyUpdate with update_requested, fed to the server one
// byte at a time in non-blocking mode, makes the server answer with its own
// KeyUpdate (handleKeyUpdate) and switch keys; application data under the
// client's next secret then reads, and the server's KeyUpdate and the
// records behind it pass to the real client one byte at a time.
func TestKeyUpdate(t *testing.T) {
	p := &pair{srv: newSide(), cli: newSide()}
	scfg, ccfg := configs(t, tls.VersionTLS13, &p.sni)
	keys := &keyLog{secrets: map[string][]byte{}}
	ccfg.KeyLogWriter = keys
	p.server = tls.Server(p.srv.io, scfg)
	p.client = tls.Client(p.cli.io, ccfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	shuttle(p.srv, p.cli, splitter{rng: newRNG(t), mean: 100}, stop, &wg)
	errs := make(chan error, 2)
	go func() { errs <- p.server.Handshake() }()
	go func() { errs <- p.client.Handshake() }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	move(p.srv.io, p.cli.io, splitter{})
	move(p.cli.io, p.srv.io, splitter{})
	if cs := p.server.ConnectionState().CipherSuite; cs != tls.TLS_AES_128_GCM_SHA256 {
		t.Skipf("cipher suite %s: the test seals records with AES-128-GCM only", tls.CipherSuiteName(cs))
	}
	secret := keys.secrets["CLIENT_TRAFFIC_SECRET_0"]
	if secret == nil {
		t.Fatal("no CLIENT_TRAFFIC_SECRET_0 in the key log")
	}
	p.srv.io.SetBlocking(false)
	p.cli.io.SetBlocking(false)

	// Some data from the real client first: its records use up sequence
	// numbers under secret 0.
	if _, err := p.client.Write(message(30000, 3)); err != nil {
		t.Fatal(err)
	}
	seq := uint64(len(recordEnds(t, p.cli.io.Output())))
	if got := deliver(t, p.cli.io, p.srv.io, p.server, splitter{rng: newRNG(t), mean: 300}); !bytes.Equal(got, message(30000, 3)) {
		t.Fatal("data before the KeyUpdate differs")
	}

	// KeyUpdate(update_requested), one byte at a time.
	ku := sealRecord(t, secret, seq, 22, []byte{24, 0, 0, 1, 1})
	next := expandLabel(t, secret, "traffic upd", 32)
	data := sealRecord(t, next, 0, 23, []byte("under the new key"))
	in := append(bytes.Clone(ku), data...)
	p.cli.io.Write(in) // carried in the client's output, which deliver takes
	if got := deliver(t, p.cli.io, p.srv.io, p.server, splitter{}); string(got) != "under the new key" {
		t.Fatalf("server read %q after the KeyUpdate", got)
	}
	out := p.srv.io.Output()
	if n := len(recordEnds(t, out)); n != 1 {
		t.Fatalf("server's output after a KeyUpdate with update_requested: %d records, want its own KeyUpdate", n)
	}

	// The server's KeyUpdate and data under its new key, to the client.
	want := message(20000, 5)
	if _, err := p.server.Write(want); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, p.srv.io, p.cli.io, p.client, splitter{}); !bytes.Equal(got, want) {
		t.Fatalf("client read %d bytes after the server's KeyUpdate, want %d", len(got), len(want))
	}
}
