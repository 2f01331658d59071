package timer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// model is a plain reference implementation: a list scanned linearly.
type model struct {
	ts  []mtimer
	seq uint64
}

type mtimer struct {
	id     int
	when   int64
	seq    uint64
	period int64
}

func (m *model) find(id int) int {
	return slices.IndexFunc(m.ts, func(t mtimer) bool { return t.id == id })
}

func (m *model) schedule(id int, when, period int64) {
	m.seq++
	m.ts = append(m.ts, mtimer{id: id, when: when, seq: m.seq, period: max(period, 0)})
}

func (m *model) cancel(id int) bool {
	i := m.find(id)
	if i < 0 {
		return false
	}
	m.ts = slices.Delete(m.ts, i, i+1)
	return true
}

func (m *model) reset(id int, when int64) bool {
	i := m.find(id)
	if i < 0 {
		return false
	}
	m.seq++
	m.ts[i].when, m.ts[i].seq = when, m.seq
	return true
}

func (m *model) repeating() int {
	k := 0
	for _, t := range m.ts {
		if t.period > 0 {
			k++
		}
	}
	return k
}

func (m *model) min() int {
	b := -1
	for i, t := range m.ts {
		if b < 0 || t.when < m.ts[b].when || (t.when == m.ts[b].when && t.seq < m.ts[b].seq) {
			b = i
		}
	}
	return b
}

func (m *model) pop(now int64) (int, bool) {
	i := m.min()
	if i < 0 || m.ts[i].when > now {
		return 0, false
	}
	t := &m.ts[i]
	id := t.id
	if t.period > 0 {
		next := addSatRef(t.when, t.period)
		if next <= now {
			next = addSatRef(now, t.period)
		}
		m.seq++
		t.when, t.seq = next, m.seq
	} else {
		m.ts = slices.Delete(m.ts, i, i+1)
	}
	return id, true
}

func addSatRef(a, b int64) int64 {
	s := a + b
	if s < a {
		return math.MaxInt64
	}
	return s
}

// pick chooses a handle index: half the time among the 16 most recent
// (mostly pending, so repeating timers do not pile up), else among all
// handles ever issued (mostly stale).
func pick(handles []Handle, next func(n uint64) uint64) int {
	if next(2) == 0 {
		k := min(len(handles), 16)
		return len(handles) - 1 - int(next(uint64(k)))
	}
	return int(next(uint64(len(handles))))
}

// runModel drives a Heap and the model with the same operations taken from
// next (which returns pseudo-random values) and fails on any difference.
func runModel(t testing.TB, ops int, next func(n uint64) uint64) {
	var h Heap
	var m model
	var fired int
	handles := []Handle{}
	now := int64(0)
	for op := 0; op < ops; op++ {
		switch next(10) {
		case 0, 1, 2, 3: // schedule
			id := len(handles)
			when := now + int64(next(64))
			period := int64(0)
			if next(4) == 0 && m.repeating() < 32 {
				period = int64(next(32)) + 1
			}
			handles = append(handles, h.Schedule(when, period, func() { fired = id }))
			m.schedule(id, when, period)
		case 4, 5: // cancel any handle ever issued, often stale
			if len(handles) == 0 {
				continue
			}
			id := pick(handles, next)
			if got, want := h.Cancel(handles[id]), m.cancel(id); got != want {
				t.Fatalf("op %d: Cancel(%d) = %v, model %v", op, id, got, want)
			}
		case 6: // reset
			if len(handles) == 0 {
				continue
			}
			id := int(next(uint64(len(handles))))
			when := now + int64(next(64))
			if got, want := h.Reset(handles[id], when), m.reset(id, when); got != want {
				t.Fatalf("op %d: Reset(%d) = %v, model %v", op, id, got, want)
			}
		case 7, 8: // advance time and pop
			now += int64(next(8))
			for {
				f, ok := h.PopExpired(now)
				id, mok := m.pop(now)
				if ok != mok {
					t.Fatalf("op %d: PopExpired ok = %v, model %v", op, ok, mok)
				}
				if !ok {
					break
				}
				fired = -1
				f.Run()
				if fired != id {
					t.Fatalf("op %d: fired timer %d, model %d", op, fired, id)
				}
			}
		case 9: // pending of a random handle
			if len(handles) == 0 {
				continue
			}
			id := int(next(uint64(len(handles))))
			if got, want := h.Pending(handles[id]), m.find(id) >= 0; got != want {
				t.Fatalf("op %d: Pending(%d) = %v, model %v", op, id, got, want)
			}
		}
		if h.Len() != len(m.ts) {
			t.Fatalf("op %d: Len = %d, model %d", op, h.Len(), len(m.ts))
		}
		w, ok := h.Next()
		if i := m.min(); (i >= 0) != ok || (ok && w != m.ts[i].when) {
			t.Fatalf("op %d: Next = %d,%v; model disagrees", op, w, ok)
		}
	}
	checkInvariant(t, &h)
}

// checkInvariant verifies the heap order and the index back-pointers.
func checkInvariant(t testing.TB, h *Heap) {
	t.Helper()
	for i := range h.items {
		if h.items[i].n.index != i {
			t.Fatalf("item %d has index %d", i, h.items[i].n.index)
		}
		if i > 0 && h.items[i].less(&h.items[(i-1)/arity]) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
}

func TestAgainstModel100k(t *testing.T) {
	ops := 100_000
	if testing.Short() {
		ops = 20_000
	}
	rng := rand.New(rand.NewPCG(7, 11))
	runModel(t, ops, rng.Uint64N)
}

func FuzzHeap(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 7, 7, 4, 5, 6, 8, 9})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 8, 8, 8, 8})
	f.Add([]byte("schedule cancel reset pop"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pos := 0
		next := func(n uint64) uint64 {
			if pos >= len(data) {
				return 0
			}
			b := uint64(data[pos])
			pos++
			return b % n
		}
		runModel(t, len(data), next)
	})
}
