//go:build !ioloopdebug

package ioloop

// debugChecks is false in the normal build: loop-only methods check nothing
// (build with -tags ioloopdebug to have them check their caller).
const debugChecks = false

// mustOwn does nothing in the normal build; the compiler inlines it away.
func (l *Loop) mustOwn(string) {}
