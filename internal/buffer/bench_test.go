package buffer

import "testing"

// BenchmarkOutputWrite64 is the common response path: one 64-byte Write,
// the iovecs for writev, and an Advance that empties the queue.
func BenchmarkOutputWrite64(b *testing.B) {
	p := NewPool(0)
	var o Output
	msg := make([]byte, 64)
	iov := make([][]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		o.Write(p, msg)
		iov = o.Iovecs(iov[:0], 1024)
		o.Advance(p, len(iov[0]))
	}
}

// BenchmarkOutputBatch16x64 queues 16 pipelined 64-byte responses before
// one flush, the batching case.
func BenchmarkOutputBatch16x64(b *testing.B) {
	p := NewPool(0)
	var o Output
	msg := make([]byte, 64)
	iov := make([][]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(16 * 64)
	for b.Loop() {
		for range 16 {
			o.Write(p, msg)
		}
		iov = o.Iovecs(iov[:0], 1024)
		o.Advance(p, o.Len())
	}
}

// BenchmarkOutputWriteRef queues a 64 KiB buffer by reference with a done
// callback, then advances it in two short writes.
func BenchmarkOutputWriteRef(b *testing.B) {
	p := NewPool(0)
	var o Output
	big := make([]byte, 64<<10)
	done := func(error) {}
	iov := make([][]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		o.WriteRef(big, done)
		iov = o.Iovecs(iov[:0], 1024)
		o.Advance(p, 40<<10)
		o.Advance(p, o.Len())
	}
}

// BenchmarkInputAppendDiscard is the partial-read path: a 300-byte
// remainder is kept, then completed and consumed.
func BenchmarkInputAppendDiscard(b *testing.B) {
	p := NewPool(0)
	var in Input
	data := make([]byte, 300)
	b.ReportAllocs()
	b.SetBytes(600)
	for b.Loop() {
		in.Append(p, data)
		in.Append(p, data)
		in.Discard(p, 100)
		in.Discard(p, in.Len())
	}
}

// BenchmarkPoolGetPut measures one Get and Put of a 4 KiB chunk.
func BenchmarkPoolGetPut(b *testing.B) {
	p := NewPool(0)
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get(4096))
	}
}
