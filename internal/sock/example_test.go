package sock_test

import (
	"fmt"
	"time"

	"github.com/ioloop/ioloop/internal/sock"
)

// A non-blocking listener, a connection to it, and one accept.
func ExampleAccept() {
	lfd, addr, err := sock.Listen("tcp", "127.0.0.1:0", sock.ListenConfig{})
	if err != nil {
		panic(err)
	}
	defer sock.Close(lfd)
	_, _, err = sock.Accept(lfd)
	fmt.Println("before a connect:", err)

	cfd, _, err := sock.Connect("tcp", addr.String())
	if err != nil {
		panic(err)
	}
	defer sock.Close(cfd)
	for i := 0; i < 100; i++ { // the handshake completes in the kernel
		nfd, remote, err := sock.Accept(lfd)
		if err == nil {
			defer sock.Close(nfd)
			fmt.Println("accepted from", remote.Addr())
			break
		}
		time.Sleep(time.Millisecond)
	}
	// Output:
	// before a connect: resource temporarily unavailable
	// accepted from 127.0.0.1
}
