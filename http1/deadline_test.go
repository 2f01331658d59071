package http1

import (
	"fmt"
	"testing"
	"time"
)

// listOrder returns the names of dl's connections from first to last,
// checking the back links and the list ids on the way.
func listOrder(t *testing.T, dl *deadlineList, names map[*conn]string) []string {
	t.Helper()
	var got []string
	var prev *conn
	for cs := dl.first; cs != nil; cs = cs.next {
		if cs.prev != prev {
			t.Fatalf("%s: prev is %s, want %s", names[cs], names[cs.prev], names[prev])
		}
		if cs.list != dl.id {
			t.Fatalf("%s: list %d, want %d", names[cs], cs.list, dl.id)
		}
		got = append(got, names[cs])
		prev = cs
	}
	if dl.last != prev {
		t.Fatalf("last is %s, want %s", names[dl.last], names[prev])
	}
	return got
}

func sameOrder(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func newConns(names ...string) ([]*conn, map[*conn]string) {
	cs := make([]*conn, len(names))
	m := map[*conn]string{nil: "<nil>"}
	for i, n := range names {
		cs[i] = &conn{list: notListed}
		m[cs[i]] = n
	}
	return cs, m
}

// TestDeadlineListOrder: connections pushed at times that do not decrease
// come out in push order, which is deadline order, each with now+d.
func TestDeadlineListOrder(t *testing.T) {
	dl := &deadlineList{d: 10 * time.Second, id: 1}
	cs, names := newConns("a", "b", "c", "d")
	for i, c := range cs {
		dl.push(c, time.Duration(i/2)*time.Second) // two at each time
	}
	if got := listOrder(t, dl, names); !sameOrder(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("order %v", got)
	}
	for i, c := range cs {
		if want := time.Duration(i/2)*time.Second + 10*time.Second; c.deadline != want {
			t.Fatalf("%s: deadline %v, want %v", names[c], c.deadline, want)
		}
	}
	if d, ok := dl.next(); !ok || d != 10*time.Second {
		t.Fatalf("next = %v, %v; want 10s, true", d, ok)
	}
}

// TestDeadlineListRemove: removing the first, a middle and the last
// connection keeps the rest linked in order; removing all empties the list.
func TestDeadlineListRemove(t *testing.T) {
	dl := &deadlineList{d: time.Second}
	cs, names := newConns("a", "b", "c", "d", "e")
	for _, c := range cs {
		dl.push(c, 0)
	}
	for _, st := range []struct {
		remove int
		want   []string
	}{
		{remove: 2, want: []string{"a", "b", "d", "e"}}, // middle
		{remove: 0, want: []string{"b", "d", "e"}},      // first
		{remove: 4, want: []string{"b", "d"}},           // last
		{remove: 1, want: []string{"d"}},
		{remove: 3, want: nil}, // the only one
	} {
		c := cs[st.remove]
		dl.remove(c)
		if c.list != notListed || c.prev != nil || c.next != nil {
			t.Fatalf("%s after remove: list %d, prev %p, next %p", names[c], c.list, c.prev, c.next)
		}
		if got := listOrder(t, dl, names); !sameOrder(got, st.want) {
			t.Fatalf("after removing %s: %v, want %v", names[c], got, st.want)
		}
	}
	if dl.first != nil || dl.last != nil {
		t.Fatal("emptied list still points at a connection")
	}
	if _, ok := dl.next(); ok {
		t.Fatal("empty list has a next deadline")
	}
}

// TestDeadlineListExpiry: expired hands out the connections whose deadline
// is at or before now, first to last, and nothing before their time; a
// list without a timeout never expires anything.
func TestDeadlineListExpiry(t *testing.T) {
	dl := &deadlineList{d: 5 * time.Second}
	cs, names := newConns("a", "b", "c")
	dl.push(cs[0], 0)
	dl.push(cs[1], 1*time.Second)
	dl.push(cs[2], 3*time.Second)
	expire := func(now time.Duration) []string {
		var got []string
		for c := dl.expired(now); c != nil; c = dl.expired(now) {
			dl.remove(c) // the server moves it to dlNone
			got = append(got, names[c])
		}
		return got
	}
	for _, st := range []struct {
		now  time.Duration
		want []string
	}{
		{now: 4999 * time.Millisecond, want: nil},
		{now: 5 * time.Second, want: []string{"a"}}, // at the deadline
		{now: 5 * time.Second, want: nil},
		{now: 7 * time.Second, want: []string{"b"}},
		{now: time.Minute, want: []string{"c"}},
		{now: time.Hour, want: nil},
	} {
		if got := expire(st.now); !sameOrder(got, st.want) {
			t.Fatalf("at %v: expired %v, want %v", st.now, got, st.want)
		}
	}

	none := &deadlineList{}
	n, _ := newConns("n")
	none.push(n[0], 0)
	if none.expired(time.Hour) != nil {
		t.Fatal("a list without a timeout expired a connection")
	}
	if _, ok := none.next(); ok {
		t.Fatal("a list without a timeout has a next deadline")
	}
}

// TestDeadlineListReuse: a connection moves between lists (as a connection
// goes from phase to phase) and comes back with a new deadline at the tail;
// a list emptied is used again.
func TestDeadlineListReuse(t *testing.T) {
	idle := &deadlineList{d: 60 * time.Second, id: 0}
	head := &deadlineList{d: 10 * time.Second, id: 1}
	lists := []*deadlineList{idle, head}
	cs, names := newConns("a", "b")
	a, b := cs[0], cs[1]
	move := func(c *conn, to *deadlineList, now time.Duration) {
		if c.list != notListed {
			lists[c.list].remove(c)
		}
		to.push(c, now)
	}
	move(a, idle, 0)
	move(b, idle, time.Second)
	move(a, head, 2*time.Second) // a's head starts
	if got := listOrder(t, idle, names); !sameOrder(got, []string{"b"}) {
		t.Fatalf("idle %v", got)
	}
	if a.deadline != 12*time.Second || a.list != 1 {
		t.Fatalf("a: deadline %v on list %d, want 12s on 1", a.deadline, a.list)
	}
	move(a, idle, 3*time.Second) // back to idle, behind b
	if got := listOrder(t, idle, names); !sameOrder(got, []string{"b", "a"}) {
		t.Fatalf("idle %v", got)
	}
	if head.first != nil || head.last != nil {
		t.Fatal("head list not empty")
	}
	if a.deadline != 63*time.Second {
		t.Fatalf("a: deadline %v, want 63s", a.deadline)
	}
	move(b, head, 4*time.Second)
	move(a, head, 5*time.Second) // the emptied list again
	if got := listOrder(t, head, names); !sameOrder(got, []string{"b", "a"}) {
		t.Fatalf("head %v", got)
	}
	if c := head.expired(14 * time.Second); c != b {
		t.Fatalf("expired at 14s: %s, want b", names[c])
	}
}
