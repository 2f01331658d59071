package http1

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// testMailbox, when IOLOOP_TEST_MAILBOX is set, is the Options.MailboxSize
// of the clients' groups: the client tests then run with a small mailbox.
var testMailbox, _ = strconv.Atoi(os.Getenv("IOLOOP_TEST_MAILBOX"))

// newClient returns a Client on a new two-loop group; both close when the
// test ends.
func newClient(t testing.TB, cl *Client) *Client {
	t.Helper()
	g, err := ioloop.New(ioloop.Options{Loops: 2, IOUring: testIOUring, MailboxSize: testMailbox})
	if err != nil {
		t.Fatal(err)
	}
	if cl == nil {
		cl = &Client{}
	}
	cl.Group = g
	t.Cleanup(func() {
		_ = cl.Close()
		g.Close()
	})
	return cl
}

// rawServer accepts connections on 127.0.0.1:0 and runs script on each in
// its own goroutine; it counts the connections and closes everything when
// the test ends.
type rawServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	n     int
	wg    sync.WaitGroup
}

func newRawServer(t testing.TB, script func(c net.Conn, r *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.n++
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				script(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url(path string) string { return "http://" + s.ln.Addr().String() + path }

func (s *rawServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// readRequest reads one request head and its Content-Length body; it
// returns the request line, or "" when the client closed.
func readRequest(r *bufio.Reader) (line string, body []byte) {
	req, err := http.ReadRequest(r)
	if err != nil {
		return "", nil
	}
	b := make([]byte, max(req.ContentLength, 0))
	_, _ = ioReadFull(req.Body, b)
	return req.Method + " " + req.URL.RequestURI(), b
}

func ioReadFull(r interface{ Read([]byte) (int, error) }, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeString writes s with \n turned into \r\n.
func writeCRLF(c net.Conn, s string) {
	_, _ = c.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
}

// newPathServer starts a raw server that answers every request with its
// path as the body, after calling before (when not nil) with the path and
// the connection's reader.
func newPathServer(t *testing.T, before func(path string, r *bufio.Reader)) *rawServer {
	return newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			line, _ := readRequest(r)
			if line == "" {
				return
			}
			path := strings.Fields(line)[1]
			if before != nil {
				before(path, r)
			}
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: "+strconv.Itoa(len(path))+"\n\n"+path)
		}
	})
}
