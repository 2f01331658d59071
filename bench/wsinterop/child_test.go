package wsinterop

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Servers of the side-by-side benchmarks run in a child process: this test
// binary, started again with WSINTEROP_SERVER set, runs childMain instead of
// the tests. That keeps the server's CPU time apart from the client's (the
// child measures its own with getrusage, to the microsecond, over all its
// threads), gives each process its own 10,000 descriptors, and lets the
// server be pinned to one CPU and the client to the other, as the echo
// harness (cmd/runbench) does for TCP.
//
// The child prints "ok URL" once it serves, then answers one line per
// request line on standard input:
//
//	count          ok N        connections open now
//	cpu            ok USEC     utime+stime of the whole process, µs
//	bcast SEQ      ok N        broadcast message SEQ (see seqPayload); N given it
//	profile PATH   ok          start a CPU profile into PATH
//	profile-stop   ok          stop it
//
// and "err TEXT" for a request that failed. It exits when its standard input
// closes.
const (
	envServer = "WSINTEROP_SERVER"     // ioloop, gorilla or nbio: run as the server child
	envMode   = "WSINTEROP_MODE"       // echo or broadcast
	envCPU    = "WSINTEROP_SERVER_CPU" // pin the child to this CPU (unset: no pinning)
	// envPin is "SERVER,CLIENT", the CPUs benchmarks pin the server child
	// and this process to (default "0,1" on 2 CPUs or more), or "none".
	envPin = "WSINTEROP_PIN"
	// envProfile, when set, makes every benchmark profile its server
	// child's CPU over the measured part into PREFIX-NAME.pprof.
	envProfile = "WSINTEROP_SERVER_CPUPROFILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(envServer) != "" {
		os.Exit(childMain())
	}
	raiseNofile()
	// The runtime's poller opens its descriptors with the first pipe or
	// socket; open them now, so that leak checks do not count them.
	if r, w, err := os.Pipe(); err == nil {
		_, _ = r.Close(), w.Close()
	}
	os.Exit(m.Run())
}

// raiseNofile lifts the soft descriptor limit to the hard one; children
// inherit it.
func raiseNofile() {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// nofile returns the soft descriptor limit.
func nofile() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

// pinTo binds every thread of this process to cpu (threads created later
// inherit it) and sets GOMAXPROCS to 1, as a process started on one CPU
// would have.
func pinTo(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("wsinterop: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("wsinterop: sched_setaffinity: %w", err)
		}
	}
	runtime.GOMAXPROCS(1)
	return nil
}

// pins returns the server and client CPUs of envPin, ok false for none.
func pins() (server, client int, ok bool) {
	v := os.Getenv(envPin)
	if v == "" {
		if runtime.NumCPU() < 2 {
			return 0, 0, false
		}
		v = "0,1"
	}
	s, c, found := strings.Cut(v, ",")
	a, err1 := strconv.Atoi(s)
	b, err2 := strconv.Atoi(c)
	if v == "none" || !found || err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return a, b, true
}

var pinOnce sync.Once

// pinClient pins this process to the client CPU once, for benchmarks.
func pinClient(tb testing.TB) {
	pinOnce.Do(func() {
		if _, c, ok := pins(); ok {
			if err := pinTo(c); err != nil {
				tb.Logf("not pinned: %v", err)
			}
		}
	})
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func childMain() int {
	if v := os.Getenv(envCPU); v != "" {
		cpu, err := strconv.Atoi(v)
		if err == nil {
			err = pinTo(cpu)
		}
		if err != nil {
			fmt.Printf("err %v\n", err)
			return 1
		}
	}
	srv, err := startServer(os.Getenv(envServer), os.Getenv(envMode))
	if err != nil {
		fmt.Printf("err %v\n", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	reply := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		_ = out.Flush()
	}
	reply("ok %s", srv.url())
	var prof *os.File
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		verb, arg, _ := strings.Cut(in.Text(), " ")
		switch verb {
		case "count":
			reply("ok %d", srv.count())
		case "cpu":
			reply("ok %d", cpuTime().Microseconds())
		case "bcast":
			seq, err := strconv.ParseUint(arg, 10, 64)
			if err != nil {
				reply("err bad sequence %q", arg)
				continue
			}
			n, err := srv.broadcast(seqPayload(seq))
			if err != nil {
				reply("err %v", err)
				continue
			}
			reply("ok %d", n)
		case "profile":
			f, err := os.Create(arg)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				reply("err %v", err)
				continue
			}
			prof = f
			reply("ok")
		case "profile-stop":
			pprof.StopCPUProfile()
			if prof != nil {
				_ = prof.Close()
				prof = nil
			}
			reply("ok")
		default:
			reply("err unknown request %q", in.Text())
		}
	}
	return 0
}

// serverProc is a server child seen from the benchmark.
type serverProc struct {
	name  string
	url   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startChild starts server name in mode as a child (pinned to the server
// CPU of envPin when pin is set) and waits for its URL. Stop it.
func startChild(name, mode string, pin bool) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envServer+"="+name, envMode+"="+mode)
	if s, _, ok := pins(); ok && pin {
		cmd.Env = append(cmd.Env, envCPU+"="+strconv.Itoa(s))
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	url, err := p.reply()
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%s server: %w", name, err)
	}
	p.url = url
	return p, nil
}

// spawn is startChild, unpinned, stopped when tb ends.
func spawn(tb testing.TB, name, mode string) *serverProc {
	tb.Helper()
	p, err := startChild(name, mode, false)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.stop)
	return p
}

// reply waits for the child's next line (60 s at most).
func (p *serverProc) reply() (string, error) {
	select {
	case line, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("wsinterop: %s server exited", p.name)
		}
		if v, ok := strings.CutPrefix(line, "ok"); ok {
			return strings.TrimSpace(v), nil
		}
		return "", fmt.Errorf("wsinterop: %s server: %s", p.name, line)
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("wsinterop: %s server did not answer within 60s", p.name)
	}
}

// send writes one request line.
func (p *serverProc) send(req string) error {
	_, err := io.WriteString(p.stdin, req+"\n")
	return err
}

// call sends req and returns the child's answer.
func (p *serverProc) call(req string) (string, error) {
	if err := p.send(req); err != nil {
		return "", err
	}
	return p.reply()
}

// callInt is call for requests answered with a number.
func (p *serverProc) callInt(req string) (int64, error) {
	v, err := p.call(req)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("wsinterop: %s answered %q to %q", p.name, v, req)
	}
	return n, nil
}

// cpu returns the child's CPU time.
func (p *serverProc) cpu() (time.Duration, error) {
	us, err := p.callInt("cpu")
	return time.Duration(us) * time.Microsecond, err
}

// waitCount waits (30 s at most) until the child holds n connections.
func (p *serverProc) waitCount(n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := p.callInt("count")
		if err != nil {
			return err
		}
		if int(got) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wsinterop: %s server holds %d connections, want %d", p.name, got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rss returns the child's resident memory (VmRSS) in bytes.
func (p *serverProc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("wsinterop: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("wsinterop: no VmRSS for %s", p.name)
}

// profile starts (or, with an empty suffix, does nothing) a CPU profile of
// the child into $WSINTEROP_SERVER_CPUPROFILE-suffix.pprof, and returns the
// function that stops it.
func (p *serverProc) profile(tb testing.TB, suffix string) func() {
	prefix := os.Getenv(envProfile)
	if prefix == "" {
		return func() {}
	}
	path := prefix + "-" + suffix + ".pprof"
	if _, err := p.call("profile " + path); err != nil {
		tb.Fatal(err)
	}
	return func() {
		if _, err := p.call("profile-stop"); err != nil {
			tb.Error(err)
		}
		tb.Logf("server CPU profile: %s", path)
	}
}

// stop closes the child's input and waits for it (5 s, then kills it).
func (p *serverProc) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() {
		for range p.lines {
		}
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}
