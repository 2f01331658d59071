//go:build !amd64 && !arm64

package onloop

// getg identifies the calling goroutine where no assembly reads the
// runtime's descriptor: by its id, parsed from the stack header (ID).
func getg() uintptr { return uintptr(ID()) }
