//go:build linux || freebsd || netbsd

package sock

// iovecsForTest returns the buffer pointers the Writer still holds.
func (w *Writer) iovecsForTest() []*byte {
	if w.iov == nil {
		return nil
	}
	out := make([]*byte, 0, len(w.iov))
	for i := range w.iov {
		out = append(out, w.iov[i].Base)
	}
	return out
}
