package http1

import "net/http"

// Deadline lists. A connection is on the list of its phase while that
// phase has a timeout, else (and once its deadline passed) on dlNone. (The
// one exception lasts no longer than a callback: between pipelined requests
// whose next head is already buffered, the connection stays on the list of
// the request that ended until readHead lists it for the next phase.)
// Within a list every connection got the same timeout, so the list is
// sorted by deadline (see deadlineList): one loop timer per list, armed for
// its first connection, serves them all, and moving a connection costs a
// few pointer updates and no timer operation.
const (
	dlIdle = iota
	dlHead
	dlRequest
	dlNone
	numLists
	notListed = numLists // before OnOpen's first move and after OnClose
)

// phaseList is the deadline list of one phase on one loop, with its timer.
type phaseList struct {
	deadlineList
	armed bool   // a loop timer for fn is pending, due no later than the first deadline
	fn    func() // expire(this list), bound once per loop
}

// arm starts pl's timer for its first deadline unless one is pending.
func (ls *loopState) arm(pl *phaseList) {
	if pl.armed {
		return
	}
	if d, ok := pl.next(); ok {
		ls.l.AfterFunc(d-ls.now, pl.fn)
		pl.armed = true
	}
}

// expire handles the connections of pl whose deadline passed and re-arms
// pl's timer for the next one.
func (ls *loopState) expire(pl *phaseList) {
	pl.armed = false
	defer ls.arm(pl) // even when a timeout's handling panicked
	ls.refresh()
	for cs := pl.expired(ls.now); cs != nil; cs = pl.expired(ls.now) {
		cs.move(dlNone, cs.phase)
		cs.onTimeout()
	}
}

// unlink takes cs off its deadline list.
func (cs *conn) unlink() {
	if cs.list != notListed {
		cs.ls.lists[cs.list].remove(cs)
	}
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
	pl := &ls.lists[li]
	pl.push(cs, ls.now)
	ls.arm(pl)
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
