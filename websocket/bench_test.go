package websocket_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
)

// loadClient keeps one message in flight until the shared budget is spent.
type loadClient struct {
	payload []byte
	left    *atomic.Int64
	done    chan struct{}
	opened  chan *websocket.Conn
}

func (l *loadClient) OnOpen(c *websocket.Conn) { l.opened <- c }
func (l *loadClient) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	if len(data) != len(l.payload) {
		panic("short echo")
	}
	switch n := l.left.Add(-1); {
	case n > 0:
		_ = c.Send(websocket.BinaryMessage, l.payload)
	case n == 0:
		close(l.done)
	}
}
func (l *loadClient) OnClose(*websocket.Conn, error) {}

// openPairs dials n client connections to an echo server and waits for them.
func openPairs(b *testing.B, n int, cfg websocket.Config, h websocket.Handler, opened chan *websocket.Conn, serverH func() websocket.Handler) (*server, *ioloop.Group, []*websocket.Conn) {
	s := newServer(b, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, serverH)
	g, err := ioloop.New(ioloop.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	d := &websocket.Dialer{Config: cfg, Timeout: 30 * time.Second}
	var conns []*websocket.Conn
	for i := 0; i < n; i++ {
		d.Dial(g, s.url, h)
		if i%256 == 255 { // let the backlog drain
			for len(conns) < i-128 {
				conns = append(conns, recv(b, opened, "open"))
			}
		}
	}
	for len(conns) < n {
		conns = append(conns, recv(b, opened, "open"))
	}
	return s, g, conns
}

// BenchmarkEcho: 1,000 client connections each keep one message in flight
// to an echo server in the same process (both on the same cores); one op is
// one round trip.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("conns=1000/size=%d", size), func(b *testing.B) {
			opened := make(chan *websocket.Conn, 1000)
			lc := &loadClient{payload: make([]byte, size), left: new(atomic.Int64), done: make(chan struct{}), opened: opened}
			_, _, conns := openPairs(b, 1000, websocket.Config{}, lc, opened, func() websocket.Handler { return echoHandler{} })
			b.ReportAllocs()
			lc.left.Store(int64(b.N) + int64(len(conns)))
			b.ResetTimer()
			start := time.Now()
			for _, c := range conns {
				_ = c.Loop().Post(func() { _ = c.Send(websocket.BinaryMessage, lc.payload) })
			}
			<-lc.done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// counter counts the messages its connections receive.
type counter struct {
	n      atomic.Int64
	opened chan *websocket.Conn
}

func (k *counter) OnOpen(c *websocket.Conn) { k.opened <- c }
func (k *counter) OnMessage(*websocket.Conn, websocket.MessageType, []byte) {
	k.n.Add(1)
}
func (k *counter) OnClose(*websocket.Conn, error) {}

// BenchmarkBroadcast sends one 64 B message to 10,000 server connections
// with Broadcast (encoded once) and waits until every client received it;
// one op is one broadcast. The clients run in a child process (this test
// binary running TestBroadcastClients) so that each process needs only
// 10,000 descriptors.
func BenchmarkBroadcast(b *testing.B) {
	const n = 10000
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("conns=%d/compress=%v", n, compress), func(b *testing.B) {
			cfg := websocket.Config{Compression: compress, NoContextTakeover: true, CompressThreshold: 1}
			srvOpened := make(chan *websocket.Conn, n)
			sh := websocket.HandlerFuncs{Open: func(c *websocket.Conn) { srvOpened <- c }}
			s := newServer(b, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return sh })
			cmd := exec.Command(os.Args[0], "-test.run=^TestBroadcastClients$", "-test.v")
			cmd.Env = append(os.Environ(), "IOLOOP_WS_BCAST_URL="+s.url, fmt.Sprintf("IOLOOP_WS_BCAST_N=%d", n), fmt.Sprintf("IOLOOP_WS_BCAST_COMPRESS=%v", compress))
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			br := bufio.NewReader(out)
			conns := make([]*websocket.Conn, 0, n)
			for len(conns) < n {
				conns = append(conns, recv(b, srvOpened, "server open"))
			}
			pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, []byte(fmt.Sprintf("%064d", 7)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if sent, err := websocket.Broadcast(pm, conns).Await(context.Background()); err != nil || sent != n {
					b.Fatalf("sent %d: %v", sent, err)
				}
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						b.Fatalf("clients: %v", err)
					}
					if line == "round\n" {
						break
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// TestBroadcastClients is the client side of BenchmarkBroadcast, run in a
// child process; it skips otherwise. It prints "round" each time every
// connection received one more message.
func TestBroadcastClients(t *testing.T) {
	url := os.Getenv("IOLOOP_WS_BCAST_URL")
	if url == "" {
		t.Skip("run by BenchmarkBroadcast")
	}
	n, _ := strconv.Atoi(os.Getenv("IOLOOP_WS_BCAST_N"))
	cfg := websocket.Config{Compression: os.Getenv("IOLOOP_WS_BCAST_COMPRESS") == "true", NoContextTakeover: true}
	g, err := ioloop.New(ioloop.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	k := &counter{opened: make(chan *websocket.Conn, n)}
	d := &websocket.Dialer{Config: cfg, Timeout: 60 * time.Second}
	for i := 0; i < n; i++ {
		d.Dial(g, url, k)
		if i%256 == 255 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := 0; i < n; i++ {
		recv(t, k.opened, "open")
	}
	for round := int64(1); ; round++ {
		for k.n.Load() < round*int64(n) {
			time.Sleep(20 * time.Microsecond)
		}
		if _, err := os.Stdout.WriteString("round\n"); err != nil {
			return
		}
	}
}

// BenchmarkIdleConn opens 2,000 connection pairs (both ends in this process)
// and reports the Go heap they hold once idle, per connection end. The
// measurement is made once, whatever b.N (run it with -benchtime=1x).
func BenchmarkIdleConn(b *testing.B) {
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	k := &counter{opened: make(chan *websocket.Conn, n)}
	_, _, conns := openPairs(b, n, websocket.Config{}, k, k.opened, func() websocket.Handler { return echoHandler{} })
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	for i := 0; i < b.N; i++ {
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(2*n), "heapB/conn")
	runtime.KeepAlive(conns)
}

// TestSendAllocs: Send on the loop allocates nothing in the steady state,
// as a server (header + payload copied) and as a client (masked copy).
func TestSendAllocs(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	crec := newRecorder(false)
	c := dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	sc := recv(t, srec.open, "open")
	payload := make([]byte, 64)
	for _, conn := range []*websocket.Conn{sc, c} {
		var allocs float64
		_, _ = ioloop.Submit(conn.Loop(), func() (int, error) {
			allocs = testing.AllocsPerRun(100, func() { _ = conn.Send(websocket.BinaryMessage, payload) })
			return 0, nil
		}).Await(context.Background())
		if allocs != 0 {
			t.Errorf("Send allocates %.1f times per message", allocs)
		}
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, crec.closed, "close")
}
