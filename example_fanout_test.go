package ioloop_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
)

// backend answers "price?" with its price.
type backend struct {
	ioloop.BaseHandler
	price string
}

func (b backend) OnData(c *ioloop.Conn) {
	if _, err := c.Next(len("price?")); err == nil {
		c.Write([]byte(b.price))
	}
}

// startBackends starts three backends and returns their addresses.
func startBackends(g *ioloop.Group) []string {
	var addrs []string
	for _, p := range []string{"3", "4", "5"} {
		ln, err := g.Listen("tcp", "127.0.0.1:0", backend{price: p})
		if err != nil {
			panic(err)
		}
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// asker sends "price?" and hands the answer to done.
type asker struct {
	ioloop.BaseHandler
	done func(answer string, err error)
}

func (a *asker) OnOpen(c *ioloop.Conn) { c.Write([]byte("price?")) }

func (a *asker) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	a.done(string(b), nil)
	a.done = func(string, error) {}
	c.Close()
}

func (a *asker) OnClose(c *ioloop.Conn, err error) {
	if err == nil {
		err = fmt.Errorf("closed before answering")
	}
	a.done("", err)
}

// Fetch from three backends, combine, time out: callback style. Everything
// runs on one client loop, so the shared state needs no lock.
func Example_fanOutCallbacks() {
	srv, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer srv.Close()
	addrs := startBackends(srv)
	cli, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer cli.Close()
	l := cli.Loops()[0]

	result := make(chan string, 1)
	l.Post(func() {
		answers, pending, finished := make([]string, len(addrs)), len(addrs), false
		finish := func(s string) {
			if !finished {
				finished = true
				result <- s
			}
		}
		timeout := l.AfterFunc(time.Second, func() { finish("timeout") })
		for i, addr := range addrs {
			cli.Dial("tcp", addr, &asker{done: func(answer string, err error) {
				if err != nil {
					timeout.Stop()
					finish("error: " + err.Error())
					return
				}
				answers[i] = answer
				if pending--; pending == 0 {
					timeout.Stop()
					finish(strings.Join(answers, "+"))
				}
			}}, time.Second)
		}
	})
	fmt.Println(<-result)
	// Output: 3+4+5
}

// ask is the future form of one request.
func ask(g *ioloop.Group, addr string) *async.Future[string] {
	l := g.Loops()[0]
	p := async.NewPromise[string](l)
	if _, err := g.Dial("tcp", addr, &asker{done: func(s string, err error) { p.Complete(s, err) }}, time.Second); err != nil {
		p.Reject(err)
	}
	return p.Future()
}

// Fetch from three backends, combine, time out: future style.
func Example_fanOutFutures() {
	srv, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer srv.Close()
	addrs := startBackends(srv)
	cli, _ := ioloop.New(ioloop.Options{Loops: 1})
	defer cli.Close()

	all := async.All(ask(cli, addrs[0]), ask(cli, addrs[1]), ask(cli, addrs[2]))
	answers, err := async.WithTimeout(all, time.Second).Await(context.Background())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(strings.Join(answers, "+"))
	// Output: 3+4+5
}
