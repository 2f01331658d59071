//go:build !race

package http1

// clientRace: the race detector makes sync.Pool drop items on purpose, so
// allocation counts are only checked without it.
const clientRace = false
