package http1

import (
	"testing"
	"unsafe"
)

// TestConnSize pins the size the conn type's doc states: the state of an
// idle keep-alive connection holds no closure and no timer, and the upgrade
// handler is out of line.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n != 72 {
		t.Fatalf("conn is %d bytes; its doc says 72: update both", n)
	}
}
