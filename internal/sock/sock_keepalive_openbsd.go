package sock

// setKeepAlivePeriod does nothing: OpenBSD has no per-socket keep-alive
// timing, only the system-wide net.inet.tcp.keepidle and keepintvl.
func setKeepAlivePeriod(fd, secs int) error { return nil }
