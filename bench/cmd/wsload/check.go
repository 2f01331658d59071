package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// check runs the -check conversation on two connections at once.
func check(d *dialer) error {
	errs := make(chan error, 2)
	for i := range 2 {
		go func() { errs <- checkConn(d, uint64(i)) }()
	}
	return errors.Join(<-errs, <-errs)
}

func checkConn(d *dialer, seed uint64) error {
	nc, br, err := d.dial()
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	mask := [4]byte{0x11, 0x22, 0x33, 0x44}
	for _, n := range []int{1, 64, 1000, 70000} {
		bin := make([]byte, n)
		txt := make([]byte, n)
		for i := range bin {
			bin[i] = byte(rng.Uint32())
			txt[i] = 'a' + byte(rng.IntN(26))
		}
		for _, m := range []struct {
			op   byte
			data []byte
		}{{opBinary, bin}, {opText, txt}} {
			if err := roundTrip(nc, br, appendFrame(nil, m.op, m.data, mask), m.op, m.data); err != nil {
				return fmt.Errorf("%d-byte message, opcode %#x: %w", n, m.op, err)
			}
		}
	}
	// "hello, world!" in three fragments, a ping between the first two.
	var out []byte
	out = appendFragment(out, opText, false, []byte("hello, "), mask)
	out = appendFrame(out, opPing, []byte("p"), mask)
	out = appendFragment(out, opCont, false, []byte("world"), mask)
	out = appendFragment(out, opCont, true, []byte("!"), mask)
	if err := roundTrip(nc, br, out, opText, []byte("hello, world!")); err != nil {
		return fmt.Errorf("fragmented message: %w", err)
	}
	if _, err := nc.Write(appendFrame(nil, opClose, []byte{0x03, 0xE8}, mask)); err != nil {
		return err
	}
	if _, _, err := readMessage(br, nil); err != errClosed {
		return fmt.Errorf("close frame not answered with a close frame: %v", err)
	}
	return nil
}

func roundTrip(nc net.Conn, br *bufio.Reader, frames []byte, op byte, want []byte) error {
	if _, err := nc.Write(frames); err != nil {
		return err
	}
	gop, got, err := readMessage(br, nil)
	if err != nil {
		return err
	}
	if gop != op || !bytes.Equal(got, want) {
		return fmt.Errorf("echo was opcode %#x, %d bytes, equal %v", gop, len(got), bytes.Equal(got, want))
	}
	return nil
}

// appendFragment is appendFrame with the FIN bit given.
func appendFragment(dst []byte, op byte, fin bool, payload []byte, mask [4]byte) []byte {
	start := len(dst)
	dst = appendFrame(dst, op, payload, mask)
	if !fin {
		dst[start] &^= 0x80
	}
	return dst
}
