package ioloop_test

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/ioloop/ioloop"
)

// upper is a Handler: it answers every line with the line in upper case.
type upper struct{ ioloop.BaseHandler }

func (upper) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1) // lent: valid until OnData returns, so Write copies it now
	out := make([]byte, len(b))
	for i, x := range b {
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		out[i] = x
	}
	c.Write(out) // queued; flushed with one writev at the end of the iteration
}

func Example() {
	g, err := ioloop.New(ioloop.Options{Loops: 2})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	ln, err := g.Listen("tcp", "127.0.0.1:0", upper{})
	if err != nil {
		panic(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("hello, loop\n"))
	buf := make([]byte, 12)
	io.ReadFull(c, buf)
	fmt.Printf("%s", buf)
	// Output: HELLO, LOOP
}

// A timer and a task posted from another goroutine both run on the loop.
func ExampleLoop_Post() {
	g, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer g.Close()
	l := g.Loops()[0]
	done := make(chan struct{})
	l.Post(func() { // runs on the loop
		l.AfterFunc(10*time.Millisecond, func() {
			fmt.Println("timer ran on loop", l.Index())
			close(done)
		})
	})
	<-done
	// Output: timer ran on loop 0
}

// dialer sends a greeting once connected and prints what comes back.
type dialer struct {
	ioloop.BaseHandler
	done chan struct{}
}

func (d *dialer) OnOpen(c *ioloop.Conn) { c.Write([]byte("ping")) }

func (d *dialer) OnData(c *ioloop.Conn) {
	if b, err := c.Peek(4); err == nil {
		fmt.Printf("got %s\n", b)
		c.Close()
	}
}

func (d *dialer) OnClose(c *ioloop.Conn, err error) { close(d.done) }

func ExampleGroup_Dial() {
	g, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer g.Close()
	ln, _ := g.Listen("tcp", "127.0.0.1:0", upper{})
	d := &dialer{done: make(chan struct{})}
	if _, err := g.Dial("tcp", ln.Addr().String(), d, time.Second); err != nil {
		panic(err)
	}
	<-d.done
	// Output: got PING
}

// With Options.IOUring the loops batch their socket reads and writes
// through io_uring; handlers do not change, and where the kernel has no
// io_uring the loops make plain system calls.
func ExampleOptions_ioUring() {
	g, err := ioloop.New(ioloop.Options{Loops: 1, IOUring: true})
	if err != nil {
		panic(err)
	}
	defer g.Close()
	ln, err := g.Listen("tcp", "127.0.0.1:0", upper{})
	if err != nil {
		panic(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("batched\n"))
	buf := make([]byte, 8)
	io.ReadFull(c, buf)
	fmt.Printf("%s", buf)
	// Output: BATCHED
}
