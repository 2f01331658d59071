package main

import "math/bits"

// histogram records durations in nanoseconds in log-linear buckets: 16
// sub-buckets per power of two, so a quantile is off by at most 1/16 (6%).
// Recording costs a few instructions and never allocates.
type histogram struct {
	counts [64 * 16]int64
	total  int64
}

func bucketOf(ns int64) int {
	if ns < 16 {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 5 // ns >> e is in [16, 32)
	return (e+1)*16 + int(ns>>e) - 16
}

func bucketValue(b int) int64 {
	if b < 16 {
		return int64(b)
	}
	e := b/16 - 1
	return int64(16+b%16) << e
}

func (h *histogram) record(ns int64) {
	h.counts[bucketOf(ns)]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
}

// quantile returns the q-quantile in microseconds (0 when empty).
func (h *histogram) quantile(q float64) float64 {
	if h.total == 0 {
		return 0
	}
	rank := int64(q*float64(h.total-1)) + 1
	var seen int64
	for b, n := range h.counts {
		seen += n
		if seen >= rank {
			return float64(bucketValue(b)) / 1e3
		}
	}
	return 0
}
