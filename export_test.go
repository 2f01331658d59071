package ioloop

import "unsafe"

// SetWritevHook installs a hook called after every writev of every loop of g,
// with the number of buffers and bytes written. For tests that count system
// calls. Call it before the loops have connections.
func SetWritevHook(g *Group, f func(fd, nbufs, n int)) {
	for _, l := range g.loops {
		done := make(chan struct{})
		_ = l.Post(func() { l.onWritev = f; close(done) })
		<-done
	}
}

// ConnSize is the size of a Conn, which is most of an idle connection's
// cost.
const ConnSize = unsafe.Sizeof(Conn{})
