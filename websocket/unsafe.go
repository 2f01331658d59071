package websocket

import "unsafe"

// unsafeBytes views s as bytes that must not be written.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
