package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ioloop/ioloop/bench/internal/testcert"
)

// gorillaEcho serves gorilla's echo at /ws over TLS on 127.0.0.1 (the same
// loop as bench/ws/gorilla), and returns the URL and the certificate file.
func gorillaEcho(t *testing.T, mutate func(mt int, msg []byte) (int, []byte)) (string, string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, err := testcert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if mutate != nil {
				mt, msg = mutate(mt, msg)
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "wss://" + ln.Addr().String() + "/ws", certFile
}

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{0xA5, 0x01, 0x7F}, n/3+1)[:n]
		mask := [4]byte{9, 8, 7, 6}
		f := appendFrame(nil, opBinary, payload, mask)
		// Unmask it as a server would, then read it back as a server frame.
		hdr := 2
		switch {
		case n >= 1<<16:
			hdr = 10
		case n >= 126:
			hdr = 4
		}
		if f[0] != 0x82 || f[1]&0x80 == 0 || len(f) != hdr+4+n {
			t.Fatalf("n=%d: header % x, length %d", n, f[:hdr], len(f))
		}
		srv := append([]byte{f[0], f[1] &^ 0x80}, f[2:hdr]...)
		for i, b := range f[hdr+4:] {
			srv = append(srv, b^mask[i&3])
		}
		op, got, err := readMessage(bufio.NewReader(bytes.NewReader(srv)), nil)
		if err != nil || op != opBinary || !bytes.Equal(got, payload) {
			t.Fatalf("n=%d: op %#x, equal %v, err %v", n, op, bytes.Equal(got, payload), err)
		}
	}
}

func TestReadMessageRejects(t *testing.T) {
	for name, in := range map[string][]byte{
		"masked":           {0x82, 0x81, 0, 0, 0, 0, 'x'},
		"rsv":              {0xC2, 0x01, 'x'},
		"lone cont":        {0x80, 0x01, 'x'},
		"data inside frag": {0x02, 0x01, 'x', 0x82, 0x01, 'y'},
		"long ping":        {0x89, 126, 0, 200},
		"truncated":        {0x82, 0x05, 'x'},
	} {
		if _, _, err := readMessage(bufio.NewReader(bytes.NewReader(in)), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Pings and pongs between fragments are skipped, close ends it.
	in := []byte{0x01, 0x02, 'h', 'e', 0x89, 0x00, 0x8A, 0x01, 'z', 0x80, 0x01, 'y', 0x88, 0x00}
	br := bufio.NewReader(bytes.NewReader(in))
	op, got, err := readMessage(br, nil)
	if err != nil || op != opText || string(got) != "hey" {
		t.Fatalf("got %#x %q %v", op, got, err)
	}
	if _, _, err := readMessage(br, nil); err != errClosed {
		t.Fatalf("close: %v", err)
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455, section 1.3.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatal(got)
	}
}

func TestCheckAndLoadAgainstGorilla(t *testing.T) {
	u, certFile := gorillaEcho(t, nil)
	d, err := newDialer(config{target: u, caFile: certFile, check: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := check(d); err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, p := range []int{1, 16} {
		c := config{target: u, caFile: certFile, conns: 20, size: 64, pipeline: p,
			duration: 200 * time.Millisecond, warmup: 50 * time.Millisecond, asJSON: true}
		d, err := newDialer(c)
		if err != nil {
			t.Fatal(err)
		}
		marks, err := os.Create(filepath.Join(t.TempDir(), "marks"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := load(c, d, marks)
		if err != nil {
			t.Fatal(err)
		}
		marks.Close()
		b, _ := os.ReadFile(marks.Name())
		if string(b) != "window-start\nwindow-end\n" {
			t.Fatalf("markers %q", b)
		}
		if r.Errors != 0 || r.Ops <= 0 || r.Conns != 20 || r.Pipeline != p {
			t.Fatalf("pipeline %d: %+v", p, r)
		}
	}
}

func TestWrongEchoCounts(t *testing.T) {
	u, certFile := gorillaEcho(t, func(mt int, msg []byte) (int, []byte) {
		msg = bytes.Clone(msg)
		msg[len(msg)-1] ^= 1
		return mt, msg
	})
	c := config{target: u, caFile: certFile, conns: 3, size: 64, pipeline: 1,
		duration: 100 * time.Millisecond, warmup: 10 * time.Millisecond}
	d, err := newDialer(c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := load(c, d, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 3 || r.Ops != 0 {
		t.Fatalf("want 3 errors and no ops, got %+v", r)
	}
	dc, _ := newDialer(config{target: u, caFile: certFile, check: true})
	if err := check(dc); err == nil || !strings.Contains(err.Error(), "echo was") {
		t.Fatalf("check passed a corrupting server: %v", err)
	}
}

func TestDialerRefuses(t *testing.T) {
	for _, target := range []string{"wss://example.com/ws", "http://127.0.0.1:1/ws"} {
		if _, err := newDialer(config{target: target, check: true}); err == nil {
			t.Errorf("%s accepted", target)
		}
	}
	u, _ := gorillaEcho(t, nil)
	// Without -cacert or -insecure, the self-signed certificate fails.
	d, err := newDialer(config{target: u, check: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := check(d); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
}
