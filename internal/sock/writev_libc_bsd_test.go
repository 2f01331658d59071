//go:build darwin || openbsd

package sock

import "unsafe"

// iovecsForTest returns the buffer pointers the Writer still holds.
func (w *Writer) iovecsForTest() []*byte {
	var out []*byte
	for _, b := range w.bufs[:cap(w.bufs)] {
		out = append(out, unsafe.SliceData(b))
	}
	return out
}
