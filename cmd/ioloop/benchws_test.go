package main

import (
	"testing"
	"time"
)

// TestRunWS runs the ws workload against the embedded /ws echo: every round
// trip is checked byte for byte by the client, so no error and some
// operations mean the server echoed exactly.
func TestRunWS(t *testing.T) {
	for _, size := range []int{64, 4096} {
		r, err := runWS(wsConfig{conns: 20, size: size, duration: 300 * time.Millisecond, loops: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Workload != "ws" || r.Conns != 20 || r.Size != size || r.Pipeline != 1 {
			t.Fatalf("result header %+v", r)
		}
		if r.Errors != 0 || r.Ops == 0 {
			t.Fatalf("size %d: %d ops, %d errors", size, r.Ops, r.Errors)
		}
	}
}
