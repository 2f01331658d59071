package wsinterop

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	ws "github.com/ioloop/ioloop/websocket"
)

// load is the client of the side-by-side benchmarks: ioloop WebSocket
// connections (cheap, the same for every server) that each keep one message
// in flight until the budget is spent.
type load struct {
	payload []byte
	left    atomic.Int64
	done    chan struct{}
	opened  chan *ws.Conn
}

func (l *load) OnOpen(c *ws.Conn) { l.opened <- c }
func (l *load) OnMessage(c *ws.Conn, _ ws.MessageType, data []byte) {
	if len(data) != len(l.payload) {
		panic("short echo")
	}
	switch n := l.left.Add(-1); {
	case n > 0:
		_ = c.Send(ws.BinaryMessage, l.payload)
	case n == 0:
		close(l.done)
	}
}
func (l *load) OnClose(*ws.Conn, error) {}

func dialAll(b *testing.B, url string, n int, h ws.Handler, opened chan *ws.Conn) []*ws.Conn {
	g, err := ioloop.New(ioloop.Options{NoLockOSThread: true, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	d := &ws.Dialer{Timeout: 30 * time.Second}
	conns := make([]*ws.Conn, 0, n)
	for i := 0; i < n; i++ {
		d.Dial(g, url, h)
		if i%128 == 127 {
			for len(conns) < i-64 {
				conns = append(conns, <-opened)
			}
		}
	}
	for len(conns) < n {
		select {
		case c := <-opened:
			conns = append(conns, c)
		case <-time.After(30 * time.Second):
			b.Fatalf("%d of %d connections opened", len(conns), n)
		}
	}
	return conns
}

// BenchmarkEcho1000 runs the same load (1,000 connections, one message in
// flight each, 64 B and 4 KiB) against the ioloop server, gorilla's server
// and nbio's; one op is one round trip.
func BenchmarkEcho1000(b *testing.B) {
	servers := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{name: "ioloop", url: func(b *testing.B) string { _, u := ioloopServer(b, ws.Config{}, echo{}); return u }},
		{name: "gorilla", url: func(b *testing.B) string { return gorillaServer(b, false) }},
		{name: "nbio", url: func(b *testing.B) string { return nbioServer(b) }},
	}
	for _, size := range []int{64, 4096} {
		for _, srv := range servers {
			b.Run(fmt.Sprintf("server=%s/size=%d", srv.name, size), func(b *testing.B) {
				l := &load{payload: make([]byte, size), done: make(chan struct{}), opened: make(chan *ws.Conn, 1000)}
				conns := dialAll(b, srv.url(b), 1000, l, l.opened)
				l.left.Store(int64(b.N) + int64(len(conns)))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for _, c := range conns {
					_ = c.Loop().Post(func() { _ = c.Send(ws.BinaryMessage, l.payload) })
				}
				<-l.done
				b.StopTimer()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}

// BenchmarkIdle2000 opens 2,000 idle connections to each server and reports
// the memory the process gained (heap and goroutine stacks), per connection;
// the client side is the same for both and is included in both. Measured
// once, whatever b.N.
func BenchmarkIdle2000(b *testing.B) {
	for _, name := range []string{"ioloop", "gorilla", "nbio"} {
		b.Run("server="+name, func(b *testing.B) {
			const n = 2000
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var url string
			switch name {
			case "ioloop":
				_, url = ioloopServer(b, ws.Config{}, echo{})
			case "gorilla":
				url = gorillaServer(b, false)
			default:
				url = nbioServer(b)
			}
			l := &load{done: make(chan struct{}), opened: make(chan *ws.Conn, n)}
			conns := dialAll(b, url, n, l, l.opened)
			time.Sleep(200 * time.Millisecond)
			runtime.GC()
			runtime.ReadMemStats(&after)
			for i := 0; i < b.N; i++ {
			}
			used := float64(after.HeapAlloc+after.StackInuse) - float64(before.HeapAlloc+before.StackInuse)
			b.ReportMetric(used/n, "B/conn")
			runtime.KeepAlive(conns)
		})
	}
}
