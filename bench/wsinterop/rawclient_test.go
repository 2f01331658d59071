package wsinterop

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The raw client is the receiving side of the broadcast and idle-memory
// benchmarks: the same for every server, and as cheap as a WebSocket client
// can be, so that it does not dominate the figures. Each connection is a
// blocking socket for its handshake and then a non-blocking one in one
// level-triggered epoll set, read by one goroutine into one 64 KiB buffer;
// a connection holds only its descriptor and a few words of frame state.
// Only server frames of the broadcast are accepted: unmasked, final,
// binary, 64 bytes, payload seqPayload(1), seqPayload(2), ... in order.

// bcastSize is the size of a broadcast message.
const bcastSize = 64

// putSeq writes seq in decimal, zero-padded to the left, into p, which is
// what a server broadcasts as message number seq.
func putSeq(p *[bcastSize]byte, seq uint64) {
	for i := range p {
		p[i] = '0'
	}
	for i := len(p) - 1; seq > 0 && i >= 0; i-- {
		p[i] = byte('0' + seq%10)
		seq /= 10
	}
}

// seqPayload returns message number seq of a broadcast.
func seqPayload(seq uint64) []byte {
	var p [bcastSize]byte
	putSeq(&p, seq)
	return p[:]
}

// frameReader checks the frames arriving on one connection: every one must
// be the next broadcast message. It keeps only a partial frame between
// reads (at most one frame, 66 bytes, for the messages it accepts).
type frameReader struct {
	next uint64 // number of the next message expected; 0 means 1
	pend []byte
	want [bcastSize]byte
}

// feed consumes b (which it does not keep) and returns how many whole
// messages it completed; the first frame that is not the expected message
// is an error, and the reader must not be fed again after one.
func (r *frameReader) feed(b []byte) (int, error) {
	data := b
	if len(r.pend) > 0 {
		r.pend = append(r.pend, b...)
		data = r.pend
	}
	msgs := 0
	for {
		if len(data) < 2 {
			break
		}
		b0, b1 := data[0], data[1]
		if b1&0x80 != 0 {
			return msgs, errors.New("wsinterop: masked frame from the server")
		}
		hl := 2
		switch b1 & 0x7f {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if len(data) < hl {
			break
		}
		n := uint64(b1 & 0x7f)
		if hl > 2 {
			n = 0
			for _, c := range data[2:hl] {
				n = n<<8 | uint64(c)
			}
		}
		op := b0 & 0x0f
		switch {
		case op == 0x8:
			return msgs, fmt.Errorf("wsinterop: close frame from the server (%d bytes)", n)
		case b0 != 0x82:
			return msgs, fmt.Errorf("wsinterop: frame 0x%02x, want a final binary frame (0x82)", b0)
		case n != bcastSize:
			return msgs, fmt.Errorf("wsinterop: %d-byte message, want %d", n, bcastSize)
		}
		if uint64(len(data)-hl) < n {
			break
		}
		if r.next == 0 {
			r.next = 1
		}
		putSeq(&r.want, r.next)
		if !bytes.Equal(data[hl:hl+bcastSize], r.want[:]) {
			return msgs, fmt.Errorf("wsinterop: message %q, want %q", data[hl:hl+bcastSize], r.want[:])
		}
		r.next++
		msgs++
		data = data[hl+bcastSize:]
	}
	// What is left is a partial frame: keep a copy (data may alias pend;
	// append moves overlapping bytes correctly).
	r.pend = append(r.pend[:0], data...)
	return msgs, nil
}

// rawConn is one connection of a rawClient.
type rawConn struct {
	fd int
	fr frameReader
}

// rawClient holds many raw WebSocket client connections and counts the
// broadcast messages they receive on one reader goroutine.
type rawClient struct {
	conns []*rawConn
	byFD  map[int]*rawConn
	ep    int
	wake  [2]int // a pipe whose read end in the epoll set stops the reader

	got  atomic.Int64 // messages received and checked, over all connections
	want atomic.Int64 // when got reaches it, reached gets a value
	// reached is signalled (never blocking) when got == want.
	reached chan struct{}
	mu      sync.Mutex
	err     error // the first error of the reader
	done    chan struct{}
}

// acceptFor returns the Sec-WebSocket-Accept value for key (RFC 6455 4.2.2).
func acceptFor(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// connectRetry is a blocking connect that survives signals: an
// interrupted connect goes on in the background, so wait until the socket
// is writable and read the outcome from SO_ERROR.
func connectRetry(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	if err != unix.EINTR {
		return err
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		if _, err := unix.Poll(pfd, 10000); err == unix.EINTR {
			continue
		} else if err != nil {
			return err
		}
		break
	}
	if e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
		return err
	} else if e != 0 {
		return unix.Errno(e)
	}
	return nil
}

// dialRaw opens one connection to url (ws://127.0.0.1:PORT/PATH) and does
// the opening handshake on a blocking socket (10 s receive time-out); the
// descriptor returned is non-blocking, with SO_LINGER 0 so that closing it
// resets the connection (no TIME_WAIT left behind).
func dialRaw(url string, i int) (int, []byte, error) {
	hostPath, ok := strings.CutPrefix(url, "ws://")
	if !ok {
		return -1, nil, fmt.Errorf("wsinterop: bad url %q", url)
	}
	host, path, _ := strings.Cut(hostPath, "/")
	ap, err := net.ResolveTCPAddr("tcp4", host)
	if err != nil {
		return -1, nil, fmt.Errorf("wsinterop: %w", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("wsinterop: socket: %w", err)
	}
	fail := func(err error) (int, []byte, error) {
		_ = unix.Close(fd)
		return -1, nil, err
	}
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{Sec: 10})
	sa := &unix.SockaddrInet4{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To4())
	if err := connectRetry(fd, sa); err != nil {
		return fail(fmt.Errorf("wsinterop: connect: %w", err))
	}
	var nonce [16]byte
	copy(nonce[:], fmt.Sprintf("wsinterop%07d", i))
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET /" + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	for b := []byte(req); len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue // a signal (the runtime's preemption) interrupted it
		}
		if err != nil {
			return fail(fmt.Errorf("wsinterop: write: %w", err))
		}
		b = b[n:]
	}
	var head []byte
	buf := make([]byte, 1024)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue // a socket with a receive time-out is not restarted after a signal
		}
		if err != nil || n == 0 {
			return fail(fmt.Errorf("wsinterop: reading the handshake response (%d bytes so far): %v", len(head), err))
		}
		head = append(head, buf[:n]...)
		if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
			rest := head[i+4:]
			if err := checkResponse(string(head[:i]), key); err != nil {
				return fail(err)
			}
			if err := unix.SetNonblock(fd, true); err != nil {
				return fail(fmt.Errorf("wsinterop: %w", err))
			}
			return fd, rest, nil
		}
		if len(head) > 8192 {
			return fail(errors.New("wsinterop: handshake response head over 8 KiB"))
		}
	}
}

// checkResponse checks a 101 response head (without its final CRLF CRLF)
// for the key sent.
func checkResponse(head, key string) error {
	lines := strings.Split(head, "\r\n")
	if f := strings.Fields(lines[0]); len(f) < 2 || f[0] != "HTTP/1.1" || f[1] != "101" {
		return fmt.Errorf("wsinterop: status line %q, want 101", lines[0])
	}
	var accept, upgrade string
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return fmt.Errorf("wsinterop: header line %q", l)
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "sec-websocket-accept":
			accept = strings.TrimSpace(value)
		case "upgrade":
			upgrade = strings.ToLower(strings.TrimSpace(value))
		case "sec-websocket-extensions":
			return fmt.Errorf("wsinterop: extension %q negotiated without an offer", value)
		}
	}
	if upgrade != "websocket" || accept != acceptFor(key) {
		return fmt.Errorf("wsinterop: upgrade %q, accept %q (want %q)", upgrade, accept, acceptFor(key))
	}
	return nil
}

// dialRawClient opens n connections to url, parallel dials at a time, and
// starts the reader. Close it.
func dialRawClient(url string, n, parallel int) (*rawClient, error) {
	rc := &rawClient{conns: make([]*rawConn, n), byFD: make(map[int]*rawConn, n), ep: -1,
		wake: [2]int{-1, -1}, reached: make(chan struct{}, 1), done: make(chan struct{})}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fd, rest, err := dialRaw(url, i)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				c := &rawConn{fd: fd}
				if len(rest) > 0 {
					c.fr.pend = append(c.fr.pend, rest...)
				}
				rc.conns[i] = c
			}
		}()
	}
	wg.Wait()
	if first != nil {
		rc.closeConns()
		return nil, first
	}
	if err := rc.start(); err != nil {
		rc.closeConns()
		return nil, err
	}
	return rc, nil
}

func (rc *rawClient) start() error {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("wsinterop: epoll_create1: %w", err)
	}
	rc.ep = ep
	if err := unix.Pipe2(rc.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("wsinterop: pipe2: %w", err)
	}
	add := func(fd int) error {
		return unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
	}
	if err := add(rc.wake[0]); err != nil {
		return fmt.Errorf("wsinterop: epoll_ctl: %w", err)
	}
	for _, c := range rc.conns {
		rc.byFD[c.fd] = c
		if err := add(c.fd); err != nil {
			return fmt.Errorf("wsinterop: epoll_ctl: %w", err)
		}
	}
	// Bytes that came with the handshake response are messages too.
	for _, c := range rc.conns {
		if len(c.fr.pend) > 0 {
			rest := c.fr.pend
			c.fr.pend = nil
			m, err := c.fr.feed(rest)
			if err != nil {
				return err
			}
			rc.got.Add(int64(m))
		}
	}
	go rc.read()
	return nil
}

func (rc *rawClient) fail(err error) {
	rc.mu.Lock()
	if rc.err == nil {
		rc.err = err
	}
	rc.mu.Unlock()
	select {
	case rc.reached <- struct{}{}: // wake a waiter so that it sees the error
	default:
	}
}

// Err returns the first error the reader met, or nil.
func (rc *rawClient) Err() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.err
}

// read is the reader goroutine: it runs until the wake pipe is readable.
func (rc *rawClient) read() {
	defer close(rc.done)
	events := make([]unix.EpollEvent, 1024)
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.EpollWait(rc.ep, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			rc.fail(fmt.Errorf("wsinterop: epoll_wait: %w", err))
			return
		}
		got := int64(0)
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == rc.wake[0] {
				return
			}
			c := rc.byFD[fd]
			for {
				k, err := unix.Read(fd, buf)
				if err == unix.EAGAIN || err == unix.EINTR {
					break
				}
				if err != nil || k == 0 {
					rc.fail(fmt.Errorf("wsinterop: connection %d ended (read: %v)", fd, err))
					_ = unix.EpollCtl(rc.ep, unix.EPOLL_CTL_DEL, fd, nil)
					break
				}
				m, err := c.fr.feed(buf[:k])
				got += int64(m)
				if err != nil {
					rc.fail(err)
					_ = unix.EpollCtl(rc.ep, unix.EPOLL_CTL_DEL, fd, nil)
					break
				}
				if k < len(buf) {
					break
				}
			}
		}
		if got > 0 {
			if rc.got.Add(got) >= rc.want.Load() {
				select {
				case rc.reached <- struct{}{}:
				default:
				}
			}
		}
	}
}

// await waits until total messages have been received over all
// connections, for at most timeout.
func (rc *rawClient) await(total int64, timeout time.Duration) error {
	rc.want.Store(total)
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		if err := rc.Err(); err != nil {
			return err
		}
		if g := rc.got.Load(); g >= total {
			if g > total {
				return fmt.Errorf("wsinterop: %d messages received, want %d", g, total)
			}
			return nil
		}
		select {
		case <-rc.reached:
		case <-t.C:
			return fmt.Errorf("wsinterop: %d of %d messages received in %v", rc.got.Load(), total, timeout)
		}
	}
}

// Close stops the reader and resets every connection.
func (rc *rawClient) Close() {
	if rc.wake[1] >= 0 {
		_, _ = unix.Write(rc.wake[1], []byte{1})
		<-rc.done
	}
	rc.closeConns()
}

func (rc *rawClient) closeConns() {
	for _, c := range rc.conns {
		if c != nil {
			_ = unix.Close(c.fd)
		}
	}
	for _, fd := range []int{rc.ep, rc.wake[0], rc.wake[1]} {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
	rc.conns, rc.ep, rc.wake = nil, -1, [2]int{-1, -1}
}
