package sock

import (
	"errors"
	"math"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring ABI, as far as Ring uses it (linux/io_uring.h).
const (
	opSendmsg = 9  // IORING_OP_SENDMSG
	opSend    = 26 // IORING_OP_SEND
	opRecv    = 27 // IORING_OP_RECV

	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

	setupSubmitAll   = 1 << 7 // IORING_SETUP_SUBMIT_ALL
	setupCoopTaskrun = 1 << 8 // IORING_SETUP_COOP_TASKRUN

	featSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	featNodrop     = 1 << 1 // IORING_FEAT_NODROP

	offSQRing = 0          // IORING_OFF_SQ_RING (and the CQ ring with FEAT_SINGLE_MMAP)
	offSQEs   = 0x10000000 // IORING_OFF_SQES
)

type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type ringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	msgFlags    uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	pad         uint64
}

type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring batches reads and writes on non-blocking sockets into one system
// call: Read and Write queue operations, Submit hands all of them to the
// kernel with one io_uring_enter and returns their results. Every
// operation carries MSG_DONTWAIT, so it completes inside that call, like
// the read or write it replaces (EAGAIN instead of waiting); NewRing
// checks that the kernel does so. A Ring costs one descriptor and two
// small shared mappings, sized by its number of entries.
//
// The buffers given to Read and Write must stay valid and unchanged until
// Submit returns. Not safe for concurrent use: a Ring belongs to one loop.
type Ring struct {
	fd      int
	ringMem []byte
	sqeMem  []byte

	sqHead, sqTail *uint32
	sqMask         uint32
	sqArray        []uint32
	sqes           []sqe
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []cqe

	queued  int     // operations queued since the last Submit
	entries int     // capacity: operations per Submit
	res     []int32 // results by operation index

	// Writev's message headers and buffer lists, by operation index.
	msgs    []unix.Msghdr
	iovs    []unix.Iovec
	iovUsed int // iovs[:iovUsed*RingIovecs] may hold buffers

	err error // the failure that stopped the ring
}

// RingIovecs is the most buffers one Ring.Writev takes.
const RingIovecs = 16

// ErrRingUnavailable reports that the kernel offers no usable io_uring
// (too old, disabled, or refused by a seccomp filter).
var ErrRingUnavailable = errors.New("sock: io_uring unavailable")

// NewRing sets up a ring for up to entries operations per Submit (a power
// of two, at most 4096). It fails with an error wrapping
// ErrRingUnavailable when the kernel has no io_uring or completes a
// MSG_DONTWAIT receive on an empty socket anywhere but inside the submit.
func NewRing(entries int) (*Ring, error) {
	if entries <= 0 || entries > 4096 || entries&(entries-1) != 0 {
		return nil, errors.New("sock: ring entries must be a power of two in [1, 4096]")
	}
	var p ringParams
	p.flags = setupSubmitAll | setupCoopTaskrun
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e == unix.EINVAL { // a kernel before 5.19 knows neither flag
		p = ringParams{}
		fd, _, e = unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	}
	if e != 0 {
		return nil, errors.Join(ErrRingUnavailable, wrapErrno("io_uring_setup", e))
	}
	r := &Ring{fd: int(fd), entries: int(p.sqEntries)}
	unix.CloseOnExec(r.fd)
	if p.features&featSingleMmap == 0 || p.features&featNodrop == 0 {
		r.Close()
		return nil, errors.Join(ErrRingUnavailable, errors.New("sock: io_uring lacks single mmap or no-drop completions"))
	}
	size := max(int(p.sqOff.array)+int(p.sqEntries)*4, int(p.cqOff.cqes)+int(p.cqEntries)*int(unsafe.Sizeof(cqe{})))
	mem, err := unix.Mmap(r.fd, offSQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.Close()
		return nil, errors.Join(ErrRingUnavailable, err)
	}
	r.ringMem = mem
	sqeMem, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.Close()
		return nil, errors.Join(ErrRingUnavailable, err)
	}
	r.sqeMem = sqeMem
	base := unsafe.Pointer(&mem[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sqOff.array)), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqeMem[0])), p.sqEntries)
	r.res = make([]int32, r.entries)
	r.msgs = make([]unix.Msghdr, r.entries)
	r.iovs = make([]unix.Iovec, r.entries*RingIovecs)
	if err := r.probe(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// probe checks that a MSG_DONTWAIT receive on an empty socket completes
// with EAGAIN inside the submit (instead of waiting for data, which would
// make Submit block).
func (r *Ring) probe() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errors.Join(ErrRingUnavailable, err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	var b [1]byte
	r.Read(fds[0], b[:])
	r.queued = 0
	tail := *r.sqTail
	atomic.StoreUint32(r.sqTail, tail+1)
	n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, enterGetEvents, 0, 0)
	if e != 0 || n != 1 {
		return errors.Join(ErrRingUnavailable, wrapErrno("io_uring_enter", e))
	}
	head := *r.cqHead
	if atomic.LoadUint32(r.cqTail) == head {
		return errors.Join(ErrRingUnavailable, errors.New("sock: io_uring waits on MSG_DONTWAIT receives"))
	}
	res := r.cqes[head&r.cqMask].res
	atomic.StoreUint32(r.cqHead, head+1)
	if res != -int32(unix.EAGAIN) {
		return errors.Join(ErrRingUnavailable, errors.New("sock: io_uring receive on an empty socket did not give EAGAIN"))
	}
	return nil
}

// Cap returns how many operations one Submit takes.
func (r *Ring) Cap() int { return r.entries }

// Queued returns the operations queued since the last Submit.
func (r *Ring) Queued() int { return r.queued }

// Read queues a receive of up to len(p) bytes from socket fd into p and
// returns the operation's index among those of the next Submit. The caller
// must not queue more than Cap operations per Submit.
func (r *Ring) Read(fd int, p []byte) int { return r.push(opRecv, fd, bufAddr(p), len(p)) }

// Write queues a send of p (MSG_NOSIGNAL: a closed peer gives EPIPE, not
// SIGPIPE) on socket fd and returns the operation's index. p must not be
// empty.
func (r *Ring) Write(fd int, p []byte) int { return r.push(opSend, fd, bufAddr(p), len(p)) }

// Writev queues a sendmsg of bufs (1 to RingIovecs non-empty buffers, in
// order) on socket fd, like Write, and returns the operation's index.
func (r *Ring) Writev(fd int, bufs [][]byte) int {
	i := r.queued
	iov := r.iovs[i*RingIovecs : i*RingIovecs+len(bufs)]
	for j, b := range bufs {
		iov[j].Base = &b[0]
		iov[j].SetLen(len(b))
	}
	r.iovUsed = i + 1
	m := &r.msgs[i]
	*m = unix.Msghdr{Iov: &iov[0]}
	m.SetIovlen(len(bufs))
	return r.push(opSendmsg, fd, uint64(uintptr(unsafe.Pointer(m))), 1)
}

func bufAddr(p []byte) uint64 {
	if len(p) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&p[0])))
}

func (r *Ring) push(op uint8, fd int, addr uint64, n int) int {
	i := r.queued
	tail := *r.sqTail + uint32(i)
	idx := tail & r.sqMask
	r.sqes[idx] = sqe{opcode: op, fd: int32(fd), addr: addr, len: uint32(n), msgFlags: unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL, userData: uint64(i)}
	r.sqArray[idx] = idx
	r.queued++
	return i
}

// Submit performs every queued operation with one io_uring_enter (more only
// if a signal interrupts it) and returns their results by index: a byte
// count, or a negative errno. The slice is valid until the next Submit.
// The queued buffers may be reused once Submit returns.
//
// If the ring itself fails (which a sound kernel never makes it do), the
// operations that did not reach the kernel get -EINTR, so that the caller
// redoes them with plain system calls, and Err reports the failure from
// then on.
func (r *Ring) Submit() []int32 {
	k := r.queued
	if k == 0 {
		return r.res[:0]
	}
	if r.iovUsed > 0 {
		defer func() { // hold no buffer past the submit
			clear(r.iovs[:r.iovUsed*RingIovecs])
			r.iovUsed = 0
		}()
	}
	r.queued = 0
	if r.err != nil {
		for i := range k {
			r.res[i] = -int32(unix.EINTR)
		}
		return r.res[:k]
	}
	for i := range k {
		r.res[i] = resPending
	}
	atomic.StoreUint32(r.sqTail, *r.sqTail+uint32(k)) // publishes the entries
	submitted, got := 0, 0
	for submitted < k || got < submitted {
		n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(k-submitted), uintptr(k-got), enterGetEvents, 0, 0)
		if e == 0 {
			submitted += int(n)
		} else if e != unix.EINTR && e != unix.EAGAIN && e != unix.EBUSY {
			r.err = wrapErrno("io_uring_enter", e)
			// The kernel consumes entries in order and stops at a failure:
			// withdraw the rest, which never reached it.
			atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
			break
		}
		head := *r.cqHead
		tail := atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			c := &r.cqes[head&r.cqMask]
			if c.userData < uint64(k) {
				r.res[c.userData] = c.res
			}
			got++
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	for i := range k {
		if r.res[i] == resPending {
			r.res[i] = -int32(unix.EINTR) // redo it with a plain call
		}
	}
	return r.res[:k]
}

// resPending marks a result not received yet.
const resPending = math.MinInt32

// Err reports the failure that stopped the ring, if any: Submit then
// performs nothing and gives every operation -EINTR.
func (r *Ring) Err() error { return r.err }

// Break makes the ring fail the way a broken kernel would, for tests of
// the fallback: its descriptor is swapped for one of /dev/null, so the next
// Submit's io_uring_enter fails.
func (r *Ring) Break() error {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Dup3(fd, r.fd, unix.O_CLOEXEC); err != nil {
		unix.Close(fd)
		return err
	}
	return unix.Close(fd)
}

// Close releases the ring. Queued operations are dropped.
func (r *Ring) Close() error {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.ringMem != nil {
		_ = unix.Munmap(r.ringMem)
		r.ringMem = nil
	}
	if r.fd >= 0 {
		err := unix.Close(r.fd)
		r.fd = -1
		return err
	}
	return nil
}

// RingResult converts a Submit result to Read's and Write's convention: a
// count and nil, or 0 and the error (EAGAIN and EINTR bare).
func RingResult(call string, res int32) (int, error) {
	if res >= 0 {
		return int(res), nil
	}
	return 0, wrapErrno(call, unix.Errno(-res))
}
