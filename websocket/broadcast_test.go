package websocket_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
)

// TestBroadcast sends prepared messages to many connections, plain and
// compressed; each connection gets each message once, in order.
func TestBroadcast(t *testing.T) {
	checkLeaks(t)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			srec := newRecorder(false)
			cfg := websocket.Config{Compression: compress, NoContextTakeover: true, CompressThreshold: 1}
			s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
			const n = 50
			var conns []*websocket.Conn
			crec := newRecorder(false)
			for i := 0; i < n; i++ {
				dial(t, s.g, &websocket.Dialer{Config: cfg}, s.url, crec)
				conns = append(conns, recv(t, srec.open, "open"))
			}
			for k := 0; k < 3; k++ {
				pm, err := websocket.NewPreparedMessage(websocket.TextMessage, bytes.Repeat([]byte{byte('a' + k)}, 64))
				if err != nil {
					t.Fatal(err)
				}
				sent, err := websocket.Broadcast(pm, conns).Await(context.Background())
				if err != nil || sent != n {
					t.Fatalf("sent %d, %v", sent, err)
				}
			}
			counts := map[string]int{}
			for i := 0; i < 3*n; i++ {
				counts[recv(t, crec.msgs, "broadcast").data]++
			}
			for k := 0; k < 3; k++ {
				if c := counts[strings.Repeat(string(rune('a'+k)), 64)]; c != n {
					t.Fatalf("message %d arrived %d times", k, c)
				}
			}
			for _, c := range conns {
				_ = c.Close(websocket.CloseNormal, "")
			}
			for i := 0; i < n; i++ {
				recv(t, crec.closed, "close")
			}
		})
	}
}
