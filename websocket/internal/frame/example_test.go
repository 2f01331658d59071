package frame_test

import (
	"fmt"

	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// A masked client frame encoded, then decoded by the server side, which
// unmasks the payload in place.
func ExampleDecoder() {
	wire := frame.AppendFrame(nil, frame.Header{Fin: true, Opcode: frame.Text, Masked: true, Key: [4]byte{1, 2, 3, 4}}, []byte("hi there"))
	var d frame.Decoder
	d.Init(frame.Config{Role: frame.Server})
	for len(wire) > 0 {
		ev, n, err := d.Next(wire)
		if err != nil {
			panic(err)
		}
		wire = wire[n:]
		if ev.Kind == frame.EventData {
			fmt.Printf("%v %q final=%v\n", ev.Opcode, ev.Payload, ev.Final)
		}
	}
	// Output: text "hi there" final=true
}
