package websocket_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
)

// TestHandshakeChecks: bad requests get the right status and no upgrade.
func TestHandshakeChecks(t *testing.T) {
	checkLeaks(t)
	up := &websocket.Upgrader{Subprotocols: []string{"chat.v2", "chat.v1"}}
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, up, func() websocket.Handler { return srec })
	g := s.g
	cases := []struct {
		name   string
		header string
		status string
	}{
		{name: "version", header: "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", status: "426"},
		{name: "key", header: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", status: "400"},
		{name: "no upgrade", header: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: keep-alive\r\n", status: "400"},
		{name: "origin", header: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nOrigin: http://evil.example\r\n", status: "403"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, s.addr, "GET /ws HTTP/1.1\r\nHost: "+s.addr+"\r\n"+tc.header+"\r\n")
			if !strings.HasPrefix(resp, "HTTP/1.1 "+tc.status+" ") {
				t.Fatalf("got %q", resp)
			}
			if tc.status == "426" && !strings.Contains(resp, "Sec-WebSocket-Version: 13\r\n") {
				t.Fatalf("426 without the version: %q", resp)
			}
		})
	}
	// Same origin and subprotocol selection in the server's order.
	crec := newRecorder(false)
	c := dial(t, g, &websocket.Dialer{Origin: "http://" + s.addr, Subprotocols: []string{"chat.v1", "chat.v2"}}, s.url, crec)
	var proto string
	_, _ = ioloop.Submit(c.Loop(), func() (int, error) { proto = c.Subprotocol(); return 0, nil }).Await(context.Background())
	if proto != "chat.v2" {
		t.Fatalf("subprotocol %q", proto)
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, crec.closed, "close")
	// The client refuses a server that does not upgrade.
	_, err := (&websocket.Dialer{}).Dial(g, "ws://"+s.addr+"/nows", crec).Await(context.Background())
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("dial to a 404: %v", err)
	}
}

func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	nc, err := netDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, _ = nc.Write([]byte(req))
	buf := make([]byte, 4096)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := nc.Read(buf)
	return string(buf[:n])
}
