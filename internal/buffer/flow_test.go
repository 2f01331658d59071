package buffer

import "testing"

func TestFlowHysteresis(t *testing.T) {
	f := Flow{High: 100, Low: 20}
	steps := []struct {
		size            int
		changed, paused bool
	}{
		{size: 0, changed: false, paused: false},
		{size: 100, changed: false, paused: false}, // at High: not above
		{size: 101, changed: true, paused: true},
		{size: 500, changed: false, paused: true},
		{size: 50, changed: false, paused: true}, // between marks: stays paused
		{size: 21, changed: false, paused: true},
		{size: 20, changed: true, paused: false},  // at Low: resumes
		{size: 50, changed: false, paused: false}, // between marks: stays running
		{size: 100, changed: false, paused: false},
		{size: 1 << 30, changed: true, paused: true},
		{size: 0, changed: true, paused: false},
	}
	for i, s := range steps {
		c, p := f.Update(s.size)
		if c != s.changed || p != s.paused || f.Paused() != s.paused {
			t.Fatalf("step %d Update(%d) = %v,%v Paused=%v; want %v,%v", i, s.size, c, p, f.Paused(), s.changed, s.paused)
		}
	}
}

func TestFlowEqualMarks(t *testing.T) {
	f := Flow{High: 10, Low: 10}
	if c, p := f.Update(11); !c || !p {
		t.Fatal("did not pause above High")
	}
	if c, p := f.Update(10); !c || p {
		t.Fatal("did not resume at Low")
	}
	var z Flow
	if c, p := z.Update(1); !c || !p {
		t.Fatal("zero Flow must pause at the first queued byte")
	}
}

func TestFlowNextMatchesUpdate(t *testing.T) {
	marks := Flow{High: 100, Low: 20}
	var f Flow = marks
	paused := false
	for i, size := range []int{0, 50, 100, 101, 150, 99, 21, 20, 0, 100, 101, 20, 19} {
		_, want := f.Update(size)
		if paused = marks.Next(paused, size); paused != want {
			t.Fatalf("step %d size %d: Next says paused=%v, Update says %v", i, size, paused, want)
		}
	}
}
