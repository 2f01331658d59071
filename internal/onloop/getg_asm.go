//go:build amd64 || arm64

package onloop

// getg returns the address of the calling goroutine's runtime descriptor,
// read from the register or thread-local slot where the runtime keeps it.
// It identifies a goroutine for as long as that goroutine lives (the
// runtime reuses the descriptor only after the goroutine ended), which is
// all Self needs: a loop goroutine lives as long as its registration.
// A few instructions, no allocation.
func getg() uintptr
