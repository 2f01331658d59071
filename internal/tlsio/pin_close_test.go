package tlsio

// The end of a connection as crypto/tls reports it: close_notify, a FIN
// without it, and data that comes with an error. See pin_test.go.

import (
	"bytes"
	"crypto/tls"
	"io"
	"testing"
)

// TestCloseNotify: CloseWrite and Close write a close_notify alert into the
// output (closeNotify -> sendAlertLocked(alertCloseNotify)); the peer's Read
// then returns io.EOF (readRecordOrCCS: "if alert(data[1]) ==
// alertCloseNotify { return c.in.setErrorLocked(io.EOF) }") without having
// asked tlsio for more input, so EOFRead is false.
func TestCloseNotify(t *testing.T) {
	for _, v := range versions {
		for _, how := range []string{"CloseWrite", "Close"} {
			t.Run(v.name+"/"+how, func(t *testing.T) {
				p := handshake(t, v.version, splitter{rng: newRNG(t), mean: 100})
				p.srv.io.SetBlocking(false)
				p.cli.io.SetBlocking(false)
				if how == "Close" {
					if err := p.client.Close(); err != nil {
						t.Fatal(err)
					}
					if !p.cli.io.Closed() {
						t.Fatal("tls.Conn.Close did not close the tlsio Conn")
					}
				} else if err := p.client.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				out := p.cli.io.Output()
				if len(out) == 0 || out[0] != 21 && v.version == tls.VersionTLS12 {
					t.Fatalf("output after %s: % x; want an alert record", how, out)
				}
				if got := deliverUntilErr(t, p.cli.io, p.srv.io, p.server, splitter{}); got != io.EOF {
					t.Fatalf("server Read after close_notify: %v, want io.EOF", got)
				}
				p.srv.io.SetEOF() // the FIN behind the alert
				if p.srv.io.EOFRead() {
					t.Fatal("EOFRead is true after a close_notify")
				}
				if _, err := p.server.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("next Read: %v, want io.EOF again", err)
				}
			})
		}
	}
}

// deliverUntilErr feeds from's output into to byte by byte, reading after
// each Feed, and returns the first error other than ErrWouldBlock.
func deliverUntilErr(t *testing.T, from, to *Conn, tc *tls.Conn, sp splitter) error {
	t.Helper()
	out := bytes.Clone(from.Output())
	from.Consume(len(out))
	buf := make([]byte, 1024)
	for fed := 0; ; {
		n, err := tc.Read(buf)
		if n != 0 {
			t.Fatalf("Read returned %d bytes", n)
		}
		if err != ErrWouldBlock {
			return err
		}
		if fed == len(out) {
			t.Fatal("all input fed and Read still would block")
		}
		k := sp.next(len(out) - fed)
		to.Feed(out[fed : fed+k])
		fed += k
	}
}

// TestTruncation: a peer that ends without close_notify. At a record
// boundary crypto/tls reports io.EOF, like close_notify (readRecordOrCCS:
// "we accept it if and only if at the record boundary"), and only EOFRead
// tells the truncation apart; inside a record it reports
// io.ErrUnexpectedEOF (atLeastReader turns the early io.EOF into it).
func TestTruncation(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			p := handshake(t, v.version, splitter{rng: newRNG(t), mean: 100})
			p.srv.io.SetBlocking(false)
			p.cli.io.SetBlocking(false)

			// At a record boundary.
			if _, err := p.client.Write([]byte("whole")); err != nil {
				t.Fatal(err)
			}
			if got := deliver(t, p.cli.io, p.srv.io, p.server, splitter{}); string(got) != "whole" {
				t.Fatalf("got %q", got)
			}
			p.srv.io.SetEOF()
			if _, err := p.server.Read(make([]byte, 10)); err != io.EOF {
				t.Fatalf("Read after a FIN at a record boundary: %v, want io.EOF", err)
			}
			if !p.srv.io.EOFRead() {
				t.Fatal("EOFRead is false after a FIN without close_notify")
			}

			// Inside a record, on the client.
			if _, err := p.server.Write([]byte("cut short")); err != nil {
				t.Fatal(err)
			}
			out := p.srv.io.Output()
			p.cli.io.Feed(out[:len(out)-3])
			p.srv.io.Consume(len(out))
			if n, err := p.client.Read(make([]byte, 10)); n != 0 || err != ErrWouldBlock {
				t.Fatalf("Read of a partial record: %d, %v", n, err)
			}
			p.cli.io.SetEOF()
			if _, err := p.client.Read(make([]byte, 10)); err != io.ErrUnexpectedEOF {
				t.Fatalf("Read after a FIN inside a record: %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// TestReadDataWithError: after copying data out, tls.Conn.Read looks at the
// next record in its raw input and, when its outer type is alert ("If a
// close-notify alert is waiting, read it"), reads it at once, so that in
// TLS 1.2 data followed by close_notify could come as (n, io.EOF) and data
// followed by part of the alert's record as (n, ErrWouldBlock). Read here
// stops at record boundaries, so crypto/tls never holds the record behind
// the data and the branch never fires, in either version: the data comes
// with a nil error and the alert with the next Read. (In TLS 1.3 alerts
// travel inside records whose outer type is application_data anyway.) The
// loop still accepts data together with an error, should a Go release
// change this.
func TestReadDataWithError(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			p := handshake(t, v.version, splitter{rng: newRNG(t), mean: 100})
			p.srv.io.SetBlocking(false)
			p.cli.io.SetBlocking(false)
			buf := make([]byte, 1024)

			// Data, then 3 bytes of the close_notify record, in one Feed.
			if _, err := p.client.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			if err := p.client.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			out := bytes.Clone(p.cli.io.Output())
			p.cli.io.Consume(len(out))
			ends := recordEnds(t, out)
			p.srv.io.Feed(out[:ends[0]+3])
			n, err := p.server.Read(buf)
			if string(buf[:n]) != "data" || err != nil {
				t.Fatalf("Read: %q, %v; want \"data\", <nil>", buf[:n], err)
			}
			if n, err := p.server.Read(buf); n != 0 || err != ErrWouldBlock {
				t.Fatalf("Read of the partial alert: %d, %v; want 0, ErrWouldBlock", n, err)
			}
			p.srv.io.Feed(out[ends[0]+3:])
			if n, err := p.server.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after the rest of close_notify: %d, %v; want 0, io.EOF", n, err)
			}

			// Data and the whole close_notify in one Feed: (n, io.EOF).
			if _, err := p.server.Write([]byte("bye")); err != nil {
				t.Fatal(err)
			}
			if err := p.server.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			out = bytes.Clone(p.srv.io.Output())
			p.srv.io.Consume(len(out))
			for range 3 { // the session tickets of TLS 1.3, if still in the input
				if _, err := p.client.Read(buf); err != ErrWouldBlock {
					break
				}
			}
			p.cli.io.Feed(out)
			n, err = p.client.Read(buf)
			if string(buf[:n]) != "bye" || err != nil {
				t.Fatalf("Read: %q, %v; want \"bye\", <nil>", buf[:n], err)
			}
			if n, err := p.client.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after the data: %d, %v; want 0, io.EOF", n, err)
			}
		})
	}
}
