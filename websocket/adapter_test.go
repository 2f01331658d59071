package websocket_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// TestUpgradeAdapted: a net/http handler run by http1.Adapt upgrades with
// UpgradeAdapted; messages flow both ways with compression, the close
// handshake completes, and a bad request gets its status through the
// adapter.
func TestUpgradeAdapted(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srec := newRecorder(true)
	up := &websocket.Upgrader{Config: websocket.Config{Compression: true}}
	upErrs := make(chan error, 4)
	srv := &http1.Server{Handler: http1.Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := up.UpgradeAdapted(w, r, srec)
		upErrs <- err
	}))}
	ln, err := srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	addr := ln.Addr().String()
	crec := newRecorder(false)
	c := dial(t, g, &websocket.Dialer{Config: websocket.Config{Compression: true}}, "ws://"+addr+"/ws", crec)
	if err := recv(t, upErrs, "upgrade"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", strings.Repeat("two ", 1000), ""} {
		if _, err := c.WriteMessage(websocket.TextMessage, []byte(m)).Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, crec.msgs, "echo"); got.data != m || got.mt != websocket.TextMessage {
			t.Fatalf("got %q", got.data)
		}
	}
	compressed := false
	_, _ = ioloop.Submit(c.Loop(), func() (int, error) { compressed = c.Compressed(); return 0, nil }).Await(context.Background())
	if !compressed {
		t.Fatal("compression not negotiated through the adapter")
	}
	_ = c.Close(websocket.CloseNormal, "done")
	if ce := recv(t, crec.closed, "close"); ce.Code != websocket.CloseNormal || ce.Remote {
		t.Fatalf("client saw %v", ce)
	}
	if ce := recv(t, srec.closed, "server close"); ce.Code != websocket.CloseNormal || !ce.Remote {
		t.Fatalf("server saw %v", ce)
	}

	resp := rawRequest(t, addr, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 7\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if !strings.HasPrefix(resp, "HTTP/1.1 426 ") || !strings.Contains(resp, "Sec-Websocket-Version: 13\r\n") {
		t.Fatalf("got %q", resp)
	}
	var he *websocket.HandshakeError
	if err := recv(t, upErrs, "refusal"); !errors.As(err, &he) || he.Status != 426 {
		t.Fatalf("refusal: %v", err)
	}
}
