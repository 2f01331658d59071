package buffer

// Flow is the backpressure accounting of one direction of one connection:
// water marks with hysteresis. The owner reports the queued size after every
// change; the flow pauses when the size goes above High and resumes only
// when it falls to Low or below, so a size hovering near one mark does not
// flap. Set High >= Low >= 0 before use (the zero Flow pauses at the first
// queued byte). It is pure arithmetic, owned by the connection's loop and
// not safe for concurrent use.
type Flow struct {
	High, Low int // pause above High; resume at or below Low
	paused    bool
}

// Update reports the new queued size. It returns whether the paused state
// changed and the state after the update: it becomes paused when
// size > High and not paused again when size <= Low. Cost O(1). Loop
// goroutine only.
func (f *Flow) Update(size int) (changed, paused bool) {
	switch {
	case !f.paused && size > f.High:
		f.paused = true
		return true, true
	case f.paused && size <= f.Low:
		f.paused = false
		return true, false
	}
	return false, f.paused
}

// Paused reports the current state: true between a size above High and the
// next size at or below Low. Cost O(1). Loop goroutine only.
func (f *Flow) Paused() bool { return f.paused }

// Next is Update for owners that keep the paused state themselves, so that
// one Flow (the marks) can serve many connections: it returns the state
// after a change of the queued size to size, given the state before. Cost
// O(1); pure.
func (f Flow) Next(paused bool, size int) bool {
	if paused {
		return size > f.Low
	}
	return size > f.High
}
