package tlsio

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// FuzzFeedSplits feeds application data records to crypto/tls in the
// splits the input describes (each byte is a chunk size minus one, in
// turn), in non-blocking mode after a TLS 1.3 or 1.2 handshake, and checks
// what TestRecordsNonBlocking checks: ErrWouldBlock until a record is
// complete, no poisoned connection, and the plaintext in order.
func FuzzFeedSplits(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pattern []byte, size uint16, tls12 bool) {
		p, want := fuzzRecords(t, pattern, size, tls12)
		at := 0
		sp := splitter{pattern: pattern, at: &at}
		if got := deliver(t, p.cli.io, p.srv.io, p.server, sp); !bytes.Equal(got, want) {
			t.Fatalf("server got %d bytes, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
		}
	})
}

// FuzzLendSplits is FuzzFeedSplits the way the loop runs after the
// handshake: each chunk is lent (Lend) behind what the previous Reclaim
// returned, crypto/tls reads until ErrWouldBlock, and Reclaim gives back
// the incomplete record; the plaintext must come out whole and in order.
func FuzzLendSplits(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pattern []byte, size uint16, tls12 bool) {
		p, want := fuzzRecords(t, pattern, size, tls12)
		wire := bytes.Clone(p.cli.io.Output())
		p.cli.io.Consume(len(wire))
		var got, rest []byte
		if b := p.srv.io.Take(); len(b) > 0 { // bytes fed during the handshake
			rest = bytes.Clone(b)
		}
		buf := make([]byte, 16<<10)
		read := func(data []byte) {
			p.srv.io.Lend(data)
			for {
				n, err := p.server.Read(buf)
				got = append(got, buf[:n]...)
				if err == ErrWouldBlock {
					break
				}
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
			}
			rest = bytes.Clone(p.srv.io.Reclaim())
		}
		at := 0
		for off := 0; off < len(wire); {
			n := 1
			if len(pattern) > 0 {
				n = int(pattern[at%len(pattern)]) + 1
				at++
			}
			n = min(n, len(wire)-off)
			read(append(rest, wire[off:off+n]...))
			off += n
		}
		read(rest)
		if !bytes.Equal(got, want) {
			t.Fatalf("server got %d bytes, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
		}
		if len(rest) != 0 {
			t.Fatalf("%d bytes left after whole records", len(rest))
		}
	})
}

// addFuzzSeeds adds the seeds both fuzz targets start from.
func addFuzzSeeds(f *testing.F) {
	f.Add([]byte{0}, uint16(100), false)
	f.Add([]byte{4, 0, 255, 17}, uint16(20000), true)
	f.Add([]byte{2, 3, 4}, uint16(16384), false)
	f.Add([]byte{255, 255, 0, 1}, uint16(40000), true)
}

// fuzzRecords hands a fuzz target a pair past its handshake (TLS 1.2 or
// 1.3), both sides non-blocking, with the client's application records
// written (one of size+1 bytes, then ten small ones) and not yet moved;
// want is their plaintext.
func fuzzRecords(t *testing.T, pattern []byte, size uint16, tls12 bool) (*pair, []byte) {
	version := uint16(tls.VersionTLS13)
	if tls12 {
		version = tls.VersionTLS12
	}
	p := handshake(t, version, splitter{rng: newRNG(t), mean: 500})
	p.srv.io.SetBlocking(false)
	p.cli.io.SetBlocking(false)
	want := message(int(size)+1, byte(len(pattern)))
	if _, err := p.client.Write(want); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		m := message(1+i, byte(i))
		if _, err := p.client.Write(m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m...)
	}
	return p, want
}
