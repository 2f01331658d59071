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
// message may refer to the ones before: that costs about 1.1 MiB per
// connection (compress/flate's writer state does not depend on the level).
// Without context takeover it holds nothing between messages: each
// Compress takes a writer from a pool shared by the process and returns it,
// so memory is bounded by the number of messages compressed at the same
// time (at most one per loop). Resetting a pooled writer is cheap at
// flate.BestSpeed and clears about 640 KiB of hash tables at levels 2 to 9.
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
// with a hard limit on the output of each message. With context takeover
// it owns a flate reader for its whole life, about 44 KiB (a 32 KiB window
// and the Huffman tables), and the peer's messages may refer to earlier
// ones. Without context takeover it holds nothing between messages: each
// Decompress borrows a reader from a pool shared by the process.
//
// A message that ends with a final deflate block (BFINAL, allowed by RFC
// 7692 but not sent by common peers) ends the flate stream; with context
// takeover the next message then starts with an empty window, and a
// reference into the old one is reported as corrupt (1007), never as
// wrong data. A Decompressor belongs to one goroutine at a time.
type Decompressor struct {
	takeover bool
	r        io.ReadCloser // owned, with context takeover only
	fresh    bool          // r must be reset before the next message
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
// 1009, so a decompression bomb costs at most limit+32 KiB+1 bytes of dst. Data
// that does not inflate is an *Error with code 1007. After an error the
// Decompressor must not be used again (the connection closes). Inflating
// reads into dst's spare capacity and keeps at least 32 KiB spare, so a
// dst reused with 64 KiB or more of capacity allocates nothing.
func (d *Decompressor) Decompress(dst, msg []byte, limit int) ([]byte, error) {
	r := d.r
	d.src = source{msg: msg}
	switch {
	case r == nil && d.takeover:
		r = flate.NewReader(&d.src)
		d.r = r
	case r == nil:
		if pr, _ := readerPool.Get().(io.ReadCloser); pr != nil {
			r = pr
			_ = r.(flate.Resetter).Reset(&d.src, nil)
		} else {
			r = flate.NewReader(&d.src)
		}
	case d.fresh:
		_ = r.(flate.Resetter).Reset(&d.src, nil)
		d.fresh = false
	}
	dst, err := d.inflate(r, dst, limit)
	if !d.takeover {
		_ = r.(flate.Resetter).Reset(emptySource, nil)
		readerPool.Put(r)
	}
	d.src = source{}
	return dst, err
}

// inflate reads r until the message ends. The flate reader must not be
// asked for more once the message's input is used up: it would report a
// truncated stream and stop for good, losing the window. So the loop ends
// when the input (with its tail) is used up and a Read returned less than
// it was offered, which proves that the reader has nothing buffered: every
// Read is offered more than a window (the most the reader buffers).
func (d *Decompressor) inflate(r io.Reader, dst []byte, limit int) ([]byte, error) {
	start := len(dst)
	for {
		if cap(dst)-len(dst) <= flateWindow {
			dst = append(dst[:cap(dst)], make([]byte, 2*flateWindow)...)[:len(dst)]
		}
		buf := dst[len(dst):cap(dst)]
		if limit >= 0 {
			if room := max(start+limit+1-len(dst), flateWindow+1); len(buf) > room {
				buf = buf[:room]
			}
		}
		n, err := r.Read(buf)
		dst = dst[:len(dst)+n]
		if limit >= 0 && len(dst)-start > limit {
			return dst, errInflateTooBig
		}
		switch {
		case err == io.EOF: // a final block ended the stream
			d.fresh = true
			return dst, nil
		case err != nil: // includes a stream cut short
			return dst, errInflateCorrupt
		case n < len(buf) && d.src.exhausted():
			return dst, nil
		}
	}
}

// Release drops the flate reader of a Decompressor with context takeover.
// The next Decompress starts with an empty window, so call it only when
// the connection ends. It costs nothing and allocates nothing.
func (d *Decompressor) Release() {
	d.r = nil
	d.fresh = false
}
