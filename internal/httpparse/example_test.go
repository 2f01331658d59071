package httpparse_test

import (
	"fmt"

	"github.com/ioloop/ioloop/internal/httpparse"
)

// A request head parsed incrementally: the caller keeps its unconsumed
// bytes and offers them again, from the message's first byte, as more
// arrive.
func ExampleParser() {
	var p httpparse.Parser
	p.Init(httpparse.Request, httpparse.Limits{})
	in := []byte("GET /hello?x=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n")
	n, err := p.Parse(in[:20]) // part of the request line: need more
	fmt.Println(n, err)
	n, err = p.Parse(in)
	m := p.Message()
	fmt.Println(n == len(in), err, string(m.Method), string(m.Target), string(m.Host), m.KeepAlive())
	// Output:
	// 0 <nil>
	// true <nil> GET /hello?x=1 example.test true
}
