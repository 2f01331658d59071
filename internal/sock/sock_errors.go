package sock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// wrap names the system call in err, except for EAGAIN and EINTR, which
// stay bare for == comparisons (see the package contract).
func wrap(call string, err error) error {
	if err == nil || err == unix.EAGAIN || err == unix.EINTR {
		return err
	}
	return os.NewSyscallError(call, err)
}

// wrapErrno is wrap for a raw errno; 0 means success.
func wrapErrno(call string, e unix.Errno) error {
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return unix.EAGAIN
	case unix.EINTR:
		return unix.EINTR
	}
	return os.NewSyscallError(call, e)
}

// errnoOf extracts the errno from err (bare or inside *os.SyscallError)
// without allocating.
func errnoOf(err error) (unix.Errno, bool) {
	switch e := err.(type) {
	case unix.Errno:
		return e, true
	case *os.SyscallError:
		errno, ok := e.Err.(unix.Errno)
		return errno, ok
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno, true
	}
	return 0, false
}

// IsTemporaryAcceptError reports whether an Accept error concerns only the
// connection being accepted (ECONNABORTED, ECONNRESET, EPROTO, EPERM, and
// the network errors Linux's accept(2) passes on: ENETDOWN, ENOPROTOOPT,
// EHOSTDOWN, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH): skip it and keep
// accepting. No allocation; any goroutine.
func IsTemporaryAcceptError(err error) bool {
	e, ok := errnoOf(err)
	if !ok {
		return false
	}
	switch e {
	case unix.ECONNABORTED, unix.ECONNRESET, unix.EPROTO, unix.EPERM,
		unix.ENETDOWN, unix.ENOPROTOOPT, unix.EHOSTDOWN, unix.EHOSTUNREACH,
		unix.EOPNOTSUPP, unix.ENETUNREACH:
		return true
	}
	return false
}

// IsResourceError reports whether err means the process or system ran out
// of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): back off and
// retry later rather than spin or give up. No allocation; any goroutine.
func IsResourceError(err error) bool {
	e, ok := errnoOf(err)
	if !ok {
		return false
	}
	switch e {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		return true
	}
	return false
}
