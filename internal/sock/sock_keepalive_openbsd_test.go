package sock

import "testing"

// checkKeepAlivePeriod has nothing to check: OpenBSD has no per-socket
// keep-alive timing.
func checkKeepAlivePeriod(t *testing.T, fd, secs int) {}
