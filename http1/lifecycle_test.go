package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func TestHandlerPanic(t *testing.T) {
	checkLeaks(t)
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		switch string(r.Path()) {
		case "/early":
			panic("before writing")
		case "/late":
			_, _ = w.WriteString("partial")
			_ = w.Flush()
			panic("after the head")
		}
		testHandler{}.ServeHTTP1(w, r)
	})
	addr := serve(t, &Server{Handler: h, Logger: quietLogger()}, ioloop.Options{})

	c := dial(t, addr)
	fmt.Fprint(c, "GET /early HTTP/1.1\r\nHost: a\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	resp, _ := readResponse(t, br, "GET")
	if resp.StatusCode != 500 || !resp.Close {
		t.Fatalf("early panic: %d close=%v", resp.StatusCode, resp.Close)
	}
	expectClosed(t, br)

	c = dial(t, addr)
	fmt.Fprint(c, "GET /late HTTP/1.1\r\nHost: a\r\n\r\n")
	b, _ := io.ReadAll(c) // a reset may end it
	if strings.Contains(string(b), " 500 ") || !strings.Contains(string(b), "partial") || strings.Contains(string(b), "0\r\n\r\n") {
		t.Fatalf("late panic: %q: want the partial chunked response cut short, no 500", b)
	}

	// The server goes on.
	c = dial(t, addr)
	fmt.Fprint(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if got := readAll(t, c); !strings.HasSuffix(got, "Hello, World!") {
		t.Fatalf("after panics: %q", got)
	}
}

func TestShutdown(t *testing.T) {
	checkLeaks(t)
	var held *ResponseWriter
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path()) == "/hold" {
			w.Hold()
			held = w
			// End it a little later from the loop.
			r.Conn().Loop().AfterFunc(200*time.Millisecond, func() {
				_, _ = held.WriteString("late")
				_ = held.End()
			})
			return
		}
		testHandler{}.ServeHTTP1(w, r)
	})
	s := &Server{Handler: h}
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ln, err := s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()

	idle := dial(t, addr)
	fmt.Fprint(idle, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
	ibr := bufio.NewReader(idle)
	readResponse(t, ibr, "GET")

	busy := dial(t, addr)
	fmt.Fprint(busy, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
	for s.NumConns() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the held request start

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	expectClosed(t, ibr) // idle: closed at once
	idle.Close()
	bbr := bufio.NewReader(busy)
	resp, body := readResponse(t, bbr, "GET")
	if resp.StatusCode != 200 || body != "late" || !resp.Close {
		t.Fatalf("in-flight: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	expectClosed(t, bbr)
	busy.Close()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still accepting after Shutdown")
	}

	// A request that never ends is reset when the context ends.
	s2 := &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) { w.Hold() })}
	ln2, err := s2.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stuck := dial(t, ln2.Addr().String())
	fmt.Fprint(stuck, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	for s2.NumConns() < 1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s2.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck request: %v", err)
	}
	if n := s2.NumConns(); n != 0 {
		t.Fatalf("%d connections left", n)
	}
}

// echoStream sends size bytes to /echo (Content-Length, or chunked) and
// checks every byte comes back; it reports the server's peak heap growth.
func echoStream(t *testing.T, size int64, chunked bool) uint64 {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	c := dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	errc := make(chan error, 1)
	go func() {
		var err error
		if chunked {
			_, err = fmt.Fprint(c, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		} else {
			_, err = fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", size)
		}
		block := make([]byte, 256<<10)
		for i := range block {
			block[i] = byte(i * 7)
		}
		for sent := int64(0); sent < size && err == nil; {
			n := min(int64(len(block)), size-sent)
			if chunked {
				_, err = fmt.Fprintf(c, "%x\r\n", n)
			}
			if err == nil {
				_, err = c.Write(block[:n])
			}
			if chunked && err == nil {
				_, err = io.WriteString(c, "\r\n")
			}
			sent += n
		}
		if chunked && err == nil {
			_, err = io.WriteString(c, "0\r\n\r\n")
		}
		errc <- err
	}()
	br := bufio.NewReader(c)
	resp, err := httpReadResponse(br)
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	var peak uint64
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		for i := range n {
			if buf[i] != byte((int(got)+i)%(256<<10)*7) {
				t.Fatalf("byte %d: %d", got+int64(i), buf[i])
			}
		}
		got += int64(n)
		if got%(16<<20) < int64(n) {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak {
				peak = ms.HeapInuse - base
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got != size {
		t.Fatalf("echoed %d of %d bytes", got, size)
	}
	if chunked != (resp.TransferEncoding != nil) {
		t.Fatalf("chunked request answered with %v", resp.TransferEncoding)
	}
	return peak
}

func TestEchoLargeBody(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			peak := echoStream(t, 64<<20, chunked)
			t.Logf("64 MiB echoed, heap growth peak %d KiB", peak>>10)
			if peak > 16<<20 {
				t.Fatalf("heap grew by %d bytes while streaming: the body is not streamed", peak)
			}
		})
	}
}

// TestEchoGiB streams 1 GiB through /echo; set IOLOOP_HTTP1_GIB=1 to run it
// (minutes under -race).
func TestEchoGiB(t *testing.T) {
	if os.Getenv("IOLOOP_HTTP1_GIB") == "" || testing.Short() {
		t.Skip("set IOLOOP_HTTP1_GIB=1 to stream 1 GiB through /echo")
	}
	start := time.Now()
	peak := echoStream(t, 1<<30, false)
	t.Logf("1 GiB echoed in %v, heap growth peak %d KiB", time.Since(start), peak>>10)
	if peak > 16<<20 {
		t.Fatalf("heap grew by %d bytes", peak)
	}
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed; .ci/run installs it")
	}
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	base := "http://" + addr
	// Two URLs on one invocation reuse the connection.
	if got := run(base+"/plaintext", base+"/json"); got != `Hello, World!{"message":"Hello, World!"}` {
		t.Fatalf("plaintext+json: %q", got)
	}
	if got := run("-i", base+"/plaintext"); !strings.Contains(got, "Content-Length: 13\r\n") || !strings.Contains(got, "Server: ioloop\r\n") || !strings.Contains(got, "Date: ") {
		t.Fatalf("headers: %q", got)
	}
	if got := run("--data-binary", "hello curl", base+"/echo"); got != "hello curl" {
		t.Fatalf("echo: %q", got)
	}
	if got := run("-H", "Transfer-Encoding: chunked", "--data-binary", "chunky", base+"/echo"); got != "chunky" {
		t.Fatalf("chunked echo: %q", got)
	}
	if got := run("-o", "/dev/null", "-w", "%{http_code}", base+"/missing"); got != "404" {
		t.Fatalf("404: %q", got)
	}
	if got := run("--http1.0", base+"/plaintext"); got != "Hello, World!" {
		t.Fatalf("HTTP/1.0: %q", got)
	}
}

// TestShutdownMailboxFull: Shutdown and Close reach every connection even
// while other goroutines keep the loop's mailbox full (a refused post is
// tried again, not dropped): idle connections close at once.
func TestShutdownMailboxFull(t *testing.T) {
	checkLeaks(t)
	for _, useClose := range []bool{false, true} {
		s := &Server{Handler: testHandler{}}
		addr := serve(t, s, ioloop.Options{Loops: 1, MailboxSize: 2})
		// Idle keep-alive clients that, like browsers, close when the
		// server closes (graceful close waits for the peer's FIN).
		ends := make(chan error, 4)
		for range 4 {
			c := dial(t, addr)
			fmt.Fprint(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
			br := bufio.NewReader(c)
			if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
				t.Fatal(resp.StatusCode)
			}
			go func() {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := br.Read(make([]byte, 1))
				if n != 0 {
					err = fmt.Errorf("%d bytes after the response", n)
				}
				_ = c.Close()
				ends <- err
			}()
		}
		l, _ := serverLoop(t, s)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = l.Post(func() { time.Sleep(50 * time.Microsecond) })
				}
			}()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		var err error
		if useClose {
			err = s.Close()
		} else {
			err = s.Shutdown(ctx)
		}
		took := time.Since(start)
		cancel()
		close(stop)
		wg.Wait()
		if err != nil || s.NumConns() != 0 || took > 2*time.Second {
			t.Fatalf("Close %v: %v after %v, %d connections left", useClose, err, took, s.NumConns())
		}
		for i := range 4 {
			if err := <-ends; err != io.EOF && !isReset(err) {
				t.Fatalf("Close %v: connection %d: %v; want it closed", useClose, i, err)
			}
		}
	}
}
