package http1

import (
	"net/http"
	"time"
)

// Deadline lists. A connection is on the list of its phase while that
// phase has a timeout, else (and once its deadline passed) on dlNone. (The
// one exception lasts no longer than a callback: between pipelined requests
// whose next head is already buffered, the connection stays on the list of
// the request that ended until readHead lists it for the next phase.)
// Within a list every connection got the same timeout, and the loop's clock
// only moves forward, so appending at the tail keeps a list sorted by
// deadline: one loop timer per list, armed for its first connection, serves
// them all, and moving a connection costs two pointer updates and no timer
// operation.
const (
	dlIdle = iota
	dlHead
	dlRequest
	dlNone
	numLists
	notListed = numLists // before OnOpen's first move and after OnClose
)

// deadlineList is a list of connections sorted by deadline.
type deadlineList struct {
	first, last *conn
	d           time.Duration // the timeout of the list's connections; 0: none
	armed       bool          // a loop timer for fn is pending, due no later than first.deadline
	fn          func()        // expire(this list), bound once per loop
}

// expire handles the connections of dl whose deadline passed and re-arms
// dl's timer for the next one.
func (ls *loopState) expire(dl *deadlineList) {
	dl.armed = false
	defer func() { // even when a timeout's handling panicked
		if cs := dl.first; cs != nil && !dl.armed {
			ls.l.AfterFunc(cs.deadline-ls.now, dl.fn)
			dl.armed = true
		}
	}()
	ls.refresh()
	for cs := dl.first; cs != nil && cs.deadline <= ls.now; cs = dl.first {
		cs.move(dlNone, cs.phase)
		cs.onTimeout()
	}
}

// unlink takes cs off its deadline list.
func (cs *conn) unlink() {
	if cs.list == notListed {
		return
	}
	dl := &cs.ls.lists[cs.list]
	if cs.prev != nil {
		cs.prev.next = cs.next
	} else {
		dl.first = cs.next
	}
	if cs.next != nil {
		cs.next.prev = cs.prev
	} else {
		dl.last = cs.prev
	}
	cs.prev, cs.next = nil, nil
	cs.list = notListed
}

// move puts cs at the tail of list li and enters phase ph: the phase's
// timeout starts now (ls.now, refreshed by the running callback).
func (cs *conn) move(li int, ph uint8) {
	cs.phase = ph
	ls := cs.ls
	if ls.lists[li].d <= 0 {
		if cs.list == dlNone {
			return // dlNone keeps no order: nothing to move
		}
		li = dlNone
	}
	cs.unlink()
	dl := &ls.lists[li]
	cs.list = uint8(li)
	cs.prev = dl.last
	if dl.last != nil {
		dl.last.next = cs
	} else {
		dl.first = cs
	}
	dl.last = cs
	if dl.d > 0 {
		cs.deadline = ls.now + dl.d
		if !dl.armed {
			ls.l.AfterFunc(dl.d, dl.fn)
			dl.armed = true
		}
	}
}

// onTimeout handles the end of the current phase's timeout.
func (cs *conn) onTimeout() {
	if cs.closing || cs.up != nil {
		return
	}
	switch cs.phase {
	case phIdle:
		cs.close()
	case phHead:
		cs.reject(http.StatusRequestTimeout)
	case phRequest:
		x := cs.x
		if x == nil {
			cs.close()
			return
		}
		if x.w.committed || x.w.ended {
			cs.cut(x)
			return
		}
		status := http.StatusServiceUnavailable
		if !x.bodyDone {
			status = http.StatusRequestTimeout
		}
		cs.reject(status)
	}
}
