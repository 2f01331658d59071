package main

import (
	"math"
	"testing"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 100000; i++ {
		h.record(int64(i) * 10) // 10 ns .. 1 ms, uniform
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.9, 900}, {0.99, 990}, {0.999, 999}} {
		got := h.quantile(c.q)
		if math.Abs(got-c.want)/c.want > 1.0/16 {
			t.Errorf("quantile(%v) = %v µs, want %v µs within 1/16", c.q, got, c.want)
		}
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	for ns := int64(0); ns < 1<<20; ns = ns*5/4 + 1 {
		if v := bucketValue(bucketOf(ns)); v > ns || float64(ns-v) > float64(ns)/16 {
			t.Fatalf("bucket of %d holds %d", ns, v)
		}
	}
}
