package poller_test

import (
	"fmt"
	"os"
	"time"

	"github.com/ioloop/ioloop/internal/poller"
)

// A pipe registered with a tag: data written to it is reported once, with
// that tag; a Wake from any goroutine ends a Wait without an event.
func ExamplePoller() {
	p, err := poller.New()
	if err != nil {
		panic(err)
	}
	defer p.Close()
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()
	if err := p.Add(int(r.Fd()), 42); err != nil {
		panic(err)
	}
	w.Write([]byte("x"))
	events := make([]poller.Event, 8)
	n, _ := p.Wait(events, time.Second)
	fmt.Println(n, events[0].Tag, events[0].Flags&poller.Readable != 0)

	go p.Wake()
	n, _ = p.Wait(events, -1) // the wake-up is consumed, not reported
	fmt.Println(n)
	p.Del(int(r.Fd()))
	// Output:
	// 1 42 true
	// 0
}
