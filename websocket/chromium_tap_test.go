package websocket_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// tap is a TCP relay between the browser and the server that parses the
// frames of every upgraded connection in both directions, to show what the
// page cannot see: which frames were compressed (RSV1), how a message was
// split into frames, and the pongs the browser sent on its own (the server
// consumes pongs without telling its handler). It forwards each frame as it
// parses it, payloads streamed, and a reset as a reset.
type tap struct {
	addr   string
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[string]*tapConn // by the id in the request's query
	open  map[net.Conn]struct{}
}

// tapConn is what went over one upgraded connection: up from the browser,
// down from the server. Written under tap.mu.
type tapConn struct {
	up, down []wireFrame
}

// wireFrame is one frame as seen on the wire.
type wireFrame struct {
	op      frame.Opcode
	fin     bool
	rsv1    bool
	length  int64
	payload string // control frames only, unmasked
}

func startTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{addr: ln.Addr().String(), target: target, ln: ln, conns: map[string]*tapConn{}, open: map[net.Conn]struct{}{}}
	tp.wg.Add(1)
	go tp.accept()
	t.Cleanup(tp.close)
	return tp
}

func (tp *tap) accept() {
	defer tp.wg.Done()
	for {
		bc, err := tp.ln.Accept()
		if err != nil {
			return
		}
		sc, err := net.Dial("tcp", tp.target)
		if err != nil {
			_ = bc.Close()
			continue
		}
		tp.mu.Lock()
		tp.open[bc], tp.open[sc] = struct{}{}, struct{}{}
		tp.mu.Unlock()
		tc := &tapConn{}
		ids := make(chan struct{})
		tp.wg.Add(2)
		go func() {
			defer tp.wg.Done()
			tp.relay(bc, sc, tc, ids, true)
		}()
		go func() {
			defer tp.wg.Done()
			tp.relay(sc, bc, tc, ids, false)
		}()
	}
}

// close stops the tap and waits for its relays. It is called once the
// browser has exited, so they are done or about to be; connections still
// open after a grace period are closed. Calling it again does nothing.
func (tp *tap) close() {
	_ = tp.ln.Close()
	done := make(chan struct{})
	go func() {
		tp.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(10 * time.Second):
	}
	tp.mu.Lock()
	for c := range tp.open {
		_ = c.Close()
	}
	tp.mu.Unlock()
	<-done
}

// relay copies src to dst: an HTTP head, then, after an upgrade, frame by
// frame. up is the browser-to-server direction, which learns the
// connection's id from the request and closes ids once it is recorded (or
// once it gives up), for the other direction to go on.
func (tp *tap) relay(src, dst net.Conn, tc *tapConn, ids chan struct{}, up bool) {
	defer func() {
		if up {
			select {
			case <-ids:
			default:
				close(ids)
			}
		}
		tp.mu.Lock()
		delete(tp.open, src)
		tp.mu.Unlock()
		_ = src.Close()
	}()
	br := bufio.NewReaderSize(src, 64<<10)
	err := tp.relayFrames(br, dst, tc, ids, up)
	if errors.Is(err, io.EOF) {
		_ = dst.(*net.TCPConn).CloseWrite()
		return
	}
	// A reset or another failure: pass it on as a reset.
	_ = dst.(*net.TCPConn).SetLinger(0)
	_ = dst.Close()
}

func (tp *tap) relayFrames(br *bufio.Reader, dst net.Conn, tc *tapConn, ids chan struct{}, up bool) error {
	// The head: a request up, a response down.
	var head []byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			return err
		}
	}
	if _, err := dst.Write(head); err != nil {
		return err
	}
	upgraded := false
	if up {
		target := strings.Fields(string(head))[1]
		if u, err := url.Parse(target); err == nil && bytes.Contains(bytes.ToLower(head), []byte("\r\nupgrade: websocket\r\n")) {
			id := u.Query().Get("id")
			tp.mu.Lock()
			tp.conns[id] = tc
			tp.mu.Unlock()
			upgraded = true
		}
		close(ids)
	} else {
		<-ids
		upgraded = bytes.HasPrefix(head, []byte("HTTP/1.1 101 "))
	}
	if !upgraded {
		_, err := io.Copy(dst, br)
		if err == nil {
			err = io.EOF
		}
		return err
	}
	for {
		var hb []byte
		var h frame.Header
		for {
			b, err := br.ReadByte()
			if err != nil {
				return err
			}
			hb = append(hb, b)
			var n int
			if h, n, err = frame.ParseHeader(hb); err != nil {
				return err
			} else if n > 0 {
				break
			}
		}
		f := wireFrame{op: h.Opcode, fin: h.Fin, rsv1: h.Rsv&frame.Rsv1 != 0, length: h.Length}
		if _, err := dst.Write(hb); err != nil {
			return err
		}
		if h.Opcode >= frame.Close {
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				return err
			}
			if _, err := dst.Write(p); err != nil {
				return err
			}
			if h.Masked {
				frame.Mask(h.Key, 0, p)
			}
			f.payload = string(p)
		} else if _, err := io.CopyN(dst, br, h.Length); err != nil {
			return err
		}
		tp.mu.Lock()
		if up {
			tc.up = append(tc.up, f)
		} else {
			tc.down = append(tc.down, f)
		}
		tp.mu.Unlock()
	}
}

// conn returns what went over connection id.
func (tp *tap) conn(t *testing.T, id string) *tapConn {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tc := tp.conns[id]
	if tc == nil {
		t.Fatalf("%s: no such connection went through the relay", id)
	}
	return tc
}

// control returns the payloads of the op frames sent down (by the server)
// or up (by the browser).
func (tc *tapConn) control(op frame.Opcode, down bool) []string {
	fs := tc.up
	if down {
		fs = tc.down
	}
	var out []string
	for _, f := range fs {
		if f.op == op {
			out = append(out, f.payload)
		}
	}
	return out
}
