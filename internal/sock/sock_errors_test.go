package sock

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		err       error
		temporary bool
		resource  bool
	}{
		{err: nil},
		{err: errors.New("sock: other")},
		{err: unix.EAGAIN},
		{err: unix.ECONNABORTED, temporary: true},
		{err: os.NewSyscallError("accept4", unix.ECONNABORTED), temporary: true},
		{err: os.NewSyscallError("accept4", unix.EPROTO), temporary: true},
		{err: os.NewSyscallError("accept4", unix.EPERM), temporary: true},
		{err: fmt.Errorf("wrapped: %w", os.NewSyscallError("accept4", unix.ENETUNREACH)), temporary: true},
		{err: os.NewSyscallError("accept4", unix.EMFILE), resource: true},
		{err: unix.ENFILE, resource: true},
		{err: os.NewSyscallError("accept4", unix.ENOBUFS), resource: true},
		{err: fmt.Errorf("wrapped: %w", unix.ENOMEM), resource: true},
		{err: os.NewSyscallError("accept4", unix.EBADF)},
		{err: os.NewSyscallError("accept4", unix.EINVAL)},
	}
	for _, c := range cases {
		if got := IsTemporaryAcceptError(c.err); got != c.temporary {
			t.Errorf("IsTemporaryAcceptError(%v) = %v", c.err, got)
		}
		if got := IsResourceError(c.err); got != c.resource {
			t.Errorf("IsResourceError(%v) = %v", c.err, got)
		}
	}
}
