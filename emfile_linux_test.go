package ioloop_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestAcceptBackoffOnEMFILE runs an echo server in a child process whose
// descriptor limit leaves room for only a few connections. Connections past
// it must wait (accept backs off on EMFILE without spinning) and be served
// once others close; the server never stops accepting.
func TestAcceptBackoffOnEMFILE(t *testing.T) {
	if os.Getenv("IOLOOP_EMFILE_CHILD") == "1" {
		emfileChild()
		return
	}
	checkLeaks(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptBackoffOnEMFILE$")
	cmd.Env = append(os.Environ(), "IOLOOP_EMFILE_CHILD=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr ") {
		t.Fatalf("child said %q, %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "addr "))

	const total = 12 // the child has room for 4
	var conns []net.Conn
	for i := range total {
		c, err := net.Dial("tcp", addr) // completes in the kernel's backlog
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte{byte(i)})
		conns = append(conns, c)
	}
	served := 0
	for round := 0; served < total && round < 10; round++ {
		for i, c := range conns {
			if c == nil {
				continue
			}
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			b := make([]byte, 1)
			if _, err := io.ReadFull(c, b); err != nil {
				continue // not accepted yet
			}
			if b[0] != byte(i) {
				t.Fatalf("connection %d echoed %d", i, b[0])
			}
			c.Close() // make room for the others
			conns[i] = nil
			served++
		}
	}
	if served != total {
		t.Fatalf("served %d of %d connections", served, total)
	}
	stdin.Close()
	line, _ = out.ReadString('\n')
	var backoffs int
	if _, err := fmt.Sscanf(line, "backoffs %d", &backoffs); err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	// With back-off from 5 ms doubling to 1 s the child logs a handful of
	// retries over these seconds; a spinning accept would log thousands.
	if backoffs < 1 || backoffs > 60 {
		t.Fatalf("%d accept back-offs logged, want a few (no spinning)", backoffs)
	}
}

func emfileChild() {
	logs := &countingHandler{}
	g, err := ioloop.New(ioloop.Options{Loops: 1, Logger: slog.New(logs)})
	if err != nil {
		panic(err)
	}
	ln, err := g.Listen("tcp", "127.0.0.1:0", newEcho())
	if err != nil {
		panic(err)
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	lim := syscall.Rlimit{Cur: uint64(len(ents) + 4), Max: uint64(len(ents) + 4)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	fmt.Printf("addr %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent is done
	fmt.Printf("backoffs %d\n", logs.count("ioloop: accept: out of resources"))
	os.Exit(0)
}
