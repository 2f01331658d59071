// Package wsinterop tests the websocket package against gorilla/websocket,
// an independent implementation, in both directions, and benchmarks them
// side by side. It is its own module so that the core module never requires
// a peer.
package wsinterop
