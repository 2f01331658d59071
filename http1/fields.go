package http1

import (
	"unsafe"

	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// span is a piece of a head (the method, the target, a reason phrase) as
// offsets into the bytes of that head.
type span struct{ off, end int32 }

// spanOf returns where sub lies inside base; sub must be a subslice of base
// (the parser's slices are) or empty.
func spanOf(base, sub []byte) span {
	if len(sub) == 0 {
		return span{}
	}
	off := int32(uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(base))))
	return span{off, off + int32(len(sub))}
}

// fieldView is a header or trailer section kept as the offsets of its field
// lines (as the parser records them) into the bytes they were read from.
// It is the one implementation of the header API that Request and Response
// both offer (Header, HeaderAt, NumHeaders and the Trailer twins): each
// holds one view for its header fields and one for its trailer fields. The
// lookups allocate nothing, and the slices they return point into buf
// (capped, so an append cannot overwrite what follows); how long buf stays
// valid is up to the owner. The owner's goroutine is the only one to use it.
type fieldView struct {
	buf    []byte       // the bytes the fields point into
	fields []parse.Span // offsets into buf, in the order received
}

// get returns the value of the first field named name (compared without
// regard to ASCII case), or nil. Cost: a scan of the fields.
func (v *fieldView) get(name string) []byte {
	for _, f := range v.fields {
		if int(f.NameEnd-f.NameStart) == len(name) && equalFold(v.buf[f.NameStart:f.NameEnd], name) {
			return v.buf[f.ValueStart:f.ValueEnd:f.ValueEnd]
		}
	}
	return nil
}

// at returns the i-th field (0 <= i < n()) as received.
func (v *fieldView) at(i int) (name, value []byte) {
	f := v.fields[i]
	return v.buf[f.NameStart:f.NameEnd:f.NameEnd], v.buf[f.ValueStart:f.ValueEnd:f.ValueEnd]
}

// n returns the number of fields, duplicates included.
func (v *fieldView) n() int { return len(v.fields) }

// reset empties the view and lets go of buf, for a view of bytes it does
// not own; the fields' storage is kept.
func (v *fieldView) reset() { v.buf, v.fields = nil, v.fields[:0] }

// truncate empties the view and keeps the storage of both slices, for a
// view that owns buf.
func (v *fieldView) truncate() { v.buf, v.fields = v.buf[:0], v.fields[:0] }

// set makes the view show the parsed fields hs, which lie inside base (the
// parser's slices do), in buf: base itself, or a copy of it (the offsets
// are the same).
func (v *fieldView) set(buf, base []byte, hs []parse.Header) {
	v.buf, v.fields = buf, v.fields[:0]
	for _, h := range hs {
		n, val := spanOf(base, h.Name), spanOf(base, h.Value)
		v.fields = append(v.fields, parse.Span{NameStart: n.off, NameEnd: n.end, ValueStart: val.off, ValueEnd: val.end})
	}
}

// copyIn makes the view show a copy of the fields hs, kept in buf's
// storage (reused from call to call, so the steady state allocates
// nothing).
func (v *fieldView) copyIn(hs []parse.Header) {
	v.truncate()
	for _, h := range hs {
		ns := int32(len(v.buf))
		v.buf = append(v.buf, h.Name...)
		vs := int32(len(v.buf))
		v.buf = append(v.buf, h.Value...)
		v.fields = append(v.fields, parse.Span{NameStart: ns, NameEnd: vs, ValueStart: vs, ValueEnd: int32(len(v.buf))})
	}
}

// equalFold reports whether b equals s without regard to ASCII case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x != y && lower(x) != lower(y) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// fieldMemo remembers the last few header fields that passed validField on
// a loop, by the identity of their strings: a handler adding the same
// constant fields to every response has them checked once. Strings are
// immutable and the memo keeps them alive, so the same data pointer and
// length mean the same bytes.
type fieldMemo struct {
	name, value [4]string
	next        uint8
}

func (m *fieldMemo) known(name, value string) bool {
	if name == "" {
		return false // never valid; the memo's empty slots must not match it
	}
	for i := range m.name {
		if sameString(m.name[i], name) && sameString(m.value[i], value) {
			return true
		}
	}
	return false
}

func (m *fieldMemo) add(name, value string) {
	i := m.next % uint8(len(m.name))
	m.name[i], m.value[i] = name, value
	m.next++
}

// sameString reports whether a and b are the same string in memory.
func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// validField checks a header name (token, not reserved) and value.
func validField(name, value string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		if !tokenTable[name[i]] {
			return false
		}
	}
	switch len(name) {
	case 14:
		if equalFoldString(name, "Content-Length") {
			return false
		}
	case 17:
		if equalFoldString(name, "Transfer-Encoding") {
			return false
		}
	case 10:
		if equalFoldString(name, "Connection") {
			return false
		}
	}
	for i := range len(value) {
		if c := value[i]; c <= '\r' && (c == '\r' || c == '\n' || c == 0) {
			return false
		}
	}
	return true
}

// tokenTable holds the token characters (RFC 9110 5.6.2).
var tokenTable = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isToken(byte(c))
	}
	return t
}()

func equalFoldString(a, b string) bool { return equalFold(unsafeBytes(a), b) }

func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
