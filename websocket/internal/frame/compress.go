package frame

import (
	"compress/flate"
	"errors"
	"io"
	"sync"
)

// deflateTail is the empty stored block that ends a sync flush. RFC 7692
// 7.2.1 strips it from every compressed message; 7.2.2 appends it again
// before inflating.
var deflateTail = [4]byte{0x00, 0x00, 0xFF, 0xFF}

// flateWindow is the LZ77 window of compress/flate: 32 KiB (15 bits).
const flateWindow = 1 << 15

// DefaultCompressionLevel is the level the websocket package compresses
// with unless told otherwise: flate.BestSpeed, the fastest level with real
// compression and the one whose per-message reset is cheap.
const DefaultCompressionLevel = flate.BestSpeed

// writerPools holds idle flate writers by level (index level+2), for
// compressors without context takeover.
var writerPools [flate.BestCompression + 3]sync.Pool

// readerPool holds idle flate readers, for decompressors without context
// takeover.
var readerPool sync.Pool

// appendWriter is the io.Writer a flate writer writes to: it appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// Compressor deflates messages for permessage-deflate (RFC 7692 7.2.1). With
// context takeover it owns a flate.Writer for its whole life, so each
// message may refer to the ones before: that costs one compress/flate
// writer per connection for its whole life.
// Without context takeover it holds nothing between messages: each
// Compress takes a writer from a pool shared by the process and returns it,
// so memory is bounded by the number of messages compressed at the same
// time (at most one per loop). Resetting a pooled writer is cheap at
// flate.BestSpeed and clears the writer's hash tables at levels 2 to 9.
// A Compressor belongs to one goroutine at a time.
type Compressor struct {
	level    int
	takeover bool
	w        *flate.Writer // owned, with context takeover only
	out      appendWriter
}

// NewCompressor returns a Compressor at level (flate.HuffmanOnly to
// flate.BestCompression, or flate.DefaultCompression) that keeps its
// context between messages when contextTakeover is set. It allocates the
// small Compressor only; the flate writer comes with the first message. It
// may be called from any goroutine.
func NewCompressor(level int, contextTakeover bool) (*Compressor, error) {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, errors.New("websocket: invalid compression level")
	}
	return &Compressor{level: level, takeover: contextTakeover}, nil
}

// Compress appends the compressed form of msg to dst and returns the
// extended slice: the payload of a message whose first frame has RSV1 set.
// The output ends without the 0x00 0x00 0xFF 0xFF tail. It allocates only
// when dst lacks capacity (and, the first time, the flate writer).
func (c *Compressor) Compress(dst, msg []byte) []byte {
	w := c.w
	if w == nil {
		w = c.writer()
	}
	c.out.b = dst
	start := len(dst)
	// Neither call can fail: appendWriter never returns an error.
	_, _ = w.Write(msg)
	_ = w.Flush()
	out := c.out.b
	c.out.b = nil
	if n := len(out); n-start >= 4 && [4]byte(out[n-4:]) == deflateTail {
		out = out[:n-4]
	}
	if !c.takeover {
		writerPools[c.level+2].Put(w)
	}
	return out
}

// writer makes or borrows the flate writer for the next message.
func (c *Compressor) writer() *flate.Writer {
	if c.takeover {
		w, err := flate.NewWriter(&c.out, c.level)
		if err != nil { // the level was checked by NewCompressor
			panic("websocket: " + err.Error())
		}
		c.w = w
		return w
	}
	if w, _ := writerPools[c.level+2].Get().(*flate.Writer); w != nil {
		w.Reset(&c.out)
		return w
	}
	w, err := flate.NewWriter(&c.out, c.level)
	if err != nil {
		panic("websocket: " + err.Error())
	}
	return w
}

// Release drops the flate writer of a Compressor with context takeover
// (without takeover there is none between messages). The next Compress
// starts a new context, so call it only when the connection ends. It costs
// nothing and allocates nothing.
func (c *Compressor) Release() { c.w = nil }

// source feeds one message and then the deflate tail to a flate reader. It
// implements io.ByteReader so that compress/flate reads it without a
// bufio.Reader of its own.
type source struct {
	msg  []byte
	tail int // bytes of deflateTail already read
}

func (s *source) exhausted() bool { return len(s.msg) == 0 && s.tail == len(deflateTail) }

func (s *source) ReadByte() (byte, error) {
	if len(s.msg) > 0 {
		c := s.msg[0]
		s.msg = s.msg[1:]
		return c, nil
	}
	if s.tail < len(deflateTail) {
		c := deflateTail[s.tail]
		s.tail++
		return c, nil
	}
	return 0, io.EOF
}

func (s *source) Read(p []byte) (int, error) {
	n := copy(p, s.msg)
	s.msg = s.msg[n:]
	m := copy(p[n:], deflateTail[s.tail:])
	s.tail += m
	if n+m == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n + m, nil
}

// Decompressor inflates messages for permessage-deflate (RFC 7692 7.2.2),
// with a hard limit on the output of each message.
//
// compress/flate's reader cannot pause at the end of a message: asked for
// more, it reports a truncated stream and stops for good. So every message
// is inflated by a reader reset for it. With context takeover the
// Decompressor keeps the last 32 KiB of output and gives it to the reset
// reader as its dictionary, so the peer's messages may refer to earlier
// ones; it then holds a flate reader (a 32 KiB window and the Huffman
// tables) and a history of up to twice the window per connection, and
// each message costs a copy of up to 32 KiB on top of inflating. Without
// context takeover it holds nothing between messages: each Decompress
// borrows a reader from a pool shared by the process. A Decompressor
// belongs to one goroutine at a time.
type Decompressor struct {
	takeover bool
	r        io.ReadCloser // owned, with context takeover only
	hist     []byte        // recent output (its last 32 KiB are the window), with context takeover only
	src      source
}

// NewDecompressor returns a Decompressor for a peer that keeps its context
// between messages when contextTakeover is set. It allocates the small
// Decompressor only; the flate reader comes with the first message. It may
// be called from any goroutine.
func NewDecompressor(contextTakeover bool) *Decompressor {
	return &Decompressor{takeover: contextTakeover}
}

// emptySource is what pooled readers point at while idle.
var emptySource = &source{tail: len(deflateTail)}

// Decompress inflates msg, the whole payload of a compressed message (its
// frames' payloads concatenated), appends the result to dst and returns the
// extended slice. If the message inflates to more than limit bytes (limit
// < 0: no limit) it stops at limit+1 bytes and returns an *Error with code
// 1009, so a decompression bomb costs at most limit+1 bytes of dst. Data
// that does not inflate is an *Error with code 1007 (a message cut short
// may instead inflate to other bytes: the format cannot always tell).
// After an error the Decompressor must not be used again (the connection
// closes). It allocates only when dst lacks capacity (and, the first
// time, the flate state).
func (d *Decompressor) Decompress(dst, msg []byte, limit int) ([]byte, error) {
	d.src = source{msg: msg}
	r := d.r
	var dict []byte
	switch {
	case d.takeover && r == nil:
		r = flate.NewReader(&d.src)
		d.r = r
		d.hist = make([]byte, 0, 2*flateWindow)
	case d.takeover:
		dict = d.hist[max(0, len(d.hist)-flateWindow):]
		_ = r.(flate.Resetter).Reset(&d.src, dict)
	default:
		if pr, _ := readerPool.Get().(io.ReadCloser); pr != nil {
			r = pr
			_ = r.(flate.Resetter).Reset(&d.src, nil)
		} else {
			r = flate.NewReader(&d.src)
		}
	}
	start := len(dst)
	dst, err := d.inflate(r, dst, limit)
	if d.takeover && err == nil {
		d.remember(dst[start:])
	}
	if !d.takeover {
		_ = r.(flate.Resetter).Reset(emptySource, nil)
		readerPool.Put(r)
	}
	d.src = source{}
	return dst, err
}

// inflate reads r until the message ends: a final block (io.EOF), or the
// reader asking for input past the message and its tail.
func (d *Decompressor) inflate(r io.Reader, dst []byte, limit int) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		buf := dst[len(dst):cap(dst)]
		if limit >= 0 && len(buf) > start+limit+1-len(dst) {
			buf = buf[:start+limit+1-len(dst)]
		}
		n, err := r.Read(buf)
		dst = dst[:len(dst)+n]
		if limit >= 0 && len(dst)-start > limit {
			return dst, errInflateTooBig
		}
		switch {
		case err == nil:
		case err == io.EOF:
			return dst, nil
		case err == io.ErrUnexpectedEOF && d.src.exhausted():
			return dst, nil
		default:
			return dst, errInflateCorrupt
		}
	}
}

// remember keeps the last 32 KiB of output as the next message's window.
// hist has room for two windows, so the window slides by one copy of the
// output, plus one 32 KiB copy each time the room runs out.
func (d *Decompressor) remember(out []byte) {
	if len(out) >= flateWindow {
		d.hist = append(d.hist[:0], out[len(out)-flateWindow:]...)
		return
	}
	if len(d.hist)+len(out) > cap(d.hist) {
		n := copy(d.hist, d.hist[len(d.hist)-(flateWindow-len(out)):])
		d.hist = d.hist[:n]
	}
	d.hist = append(d.hist, out...)
}

// Release drops the flate state of a Decompressor with context takeover.
// The next Decompress starts with an empty window, so call it only when
// the connection ends. It costs nothing and allocates nothing.
func (d *Decompressor) Release() {
	d.r = nil
	d.hist = nil
}
