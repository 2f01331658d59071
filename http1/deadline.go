package http1

import "time"

// deadlineList is a list of connections in the order of their deadlines,
// threaded through the connections themselves (conn.prev, conn.next,
// conn.deadline, conn.list), so that being on a list costs a connection no
// allocation.
//
// Every connection pushed on a list gets the same timeout, d, counted from
// the time given to push; as long as those times never decrease (the loop's
// clock only moves forward), appending at the tail keeps the list sorted by
// deadline. The first connection is then the next to expire, and the list
// needs one timer for all of them (its owner arms it; see phaseList).
// Pushing and removing cost a few pointer updates; nothing here allocates.
//
// A connection is on at most one list at a time: conn.list holds the id of
// the list it is on, or notListed (set it so in a new conn: the zero value
// names a list). Loop only, like the connections.
type deadlineList struct {
	first, last *conn
	d           time.Duration // the timeout of the list's connections; 0: none
	id          uint8         // what conn.list holds while a connection is on this list
}

// push appends cs, which must be on no list, with the deadline now+d (none
// when d is 0). now must not be before the time of the previous push.
func (dl *deadlineList) push(cs *conn, now time.Duration) {
	cs.list = dl.id
	cs.prev, cs.next = dl.last, nil
	if dl.last != nil {
		dl.last.next = cs
	} else {
		dl.first = cs
	}
	dl.last = cs
	if dl.d > 0 {
		cs.deadline = now + dl.d
	}
}

// remove takes cs, which must be on dl, off it.
func (dl *deadlineList) remove(cs *conn) {
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

// expired returns the first connection whose deadline is at or before now,
// still on the list, or nil when none is (or the list has no timeout).
func (dl *deadlineList) expired(now time.Duration) *conn {
	if cs := dl.first; cs != nil && dl.d > 0 && cs.deadline <= now {
		return cs
	}
	return nil
}

// next returns the earliest deadline on the list; ok is false when the list
// is empty or has no timeout.
func (dl *deadlineList) next() (deadline time.Duration, ok bool) {
	if dl.first == nil || dl.d <= 0 {
		return 0, false
	}
	return dl.first.deadline, true
}
