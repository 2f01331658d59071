package ioloop

import "unsafe"

// unsafeBytes views s as bytes without copying; the result must not be
// modified.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// within reports whether b lies inside the memory of buf.
func within(b, buf []byte) bool {
	if len(buf) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(buf))
}
