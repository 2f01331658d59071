package buffer_test

import (
	"fmt"

	"github.com/ioloop/ioloop/internal/buffer"
)

// Small writes are copied into pooled chunks and leave as few iovecs; a
// large buffer given up by its owner is queued by reference.
func ExampleOutput() {
	p := buffer.NewPool(0)
	var o buffer.Output
	o.Write(p, []byte("hello, "))
	o.Write(p, []byte("world"))
	big := make([]byte, 1<<20)
	o.WriteRef(big, func(err error) { fmt.Println("big buffer done:", err) })
	iov := o.Iovecs(nil, 1024)
	fmt.Println(len(iov), len(iov[0]), o.Len())
	o.Advance(p, o.Len()) // as if one writev took everything
	fmt.Println(o.Len())
	// Output:
	// 2 12 1048588
	// big buffer done: <nil>
	// 0
}
