package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/bench/internal/procstat"
)

// server describes how to start one WSS echo server.
type server struct {
	name string
	note string // how it serves, for the report
	argv func(addr string) []string
}

// certs are the PEM files every server is given.
type certs struct{ cert, key string }

// servers returns every server the harness knows, by name.
func servers(c config, bin string, tc certs) []server {
	peer := func(name, note string) server {
		return server{name: name, note: note, argv: func(addr string) []string {
			return []string{filepath.Join(bin, "wss-"+name), "-addr", addr, "-cert", tc.cert, "-key", tc.key, "-loops", strconv.Itoa(c.loops)}
		}}
	}
	return []server{
		peer("gorilla", "gorilla/websocket on net/http with crypto/tls, goroutine per connection (`ws/gorilla`)"),
		{name: "ioloop", note: "`bin/ioloop " + c.ioloopArgs + "`", argv: func(addr string) []string {
			return append([]string{filepath.Join(bin, "ioloop")}, expand(c.ioloopArgs, addr, c.loops, tc)...)
		}},
		peer("ioloop-lib", "the library directly (`ws/ioloop`): http1.Server with TLSConfig on ioloop.Group.ListenTLS, websocket.Upgrader echo; stands in until `serve --https` serves /ws"),
		peer("nbio", "nbio's nbhttp engine with its own TLS and WebSocket upgrader (`ws/nbio`)"),
	}
}

// expand splits a command-line template at spaces and replaces {addr},
// {loops}, {cert} and {key}.
func expand(tmpl, addr string, loops int, tc certs) []string {
	r := strings.NewReplacer("{addr}", addr, "{loops}", strconv.Itoa(loops), "{cert}", tc.cert, "{key}", tc.key)
	f := strings.Fields(tmpl)
	for i := range f {
		f[i] = r.Replace(f[i])
	}
	return f
}

// build builds the load generator, the peers and bin/ioloop; a server
// that does not build gets a note and is left out.
func build(dir, bin string, notes map[string]string) error {
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := run(dir, "go", "build", "-o", filepath.Join(bin, "wsload"), "./cmd/wsload"); err != nil {
		return fmt.Errorf("building wsload: %w", err)
	}
	for _, p := range []string{"gorilla", "ioloop-lib", "nbio"} {
		out := filepath.Join(bin, "wss-"+p)
		_ = os.Remove(out)
		if err := run(dir, "go", "build", "-o", out, "./ws/"+strings.TrimSuffix(p, "-lib")); err != nil {
			notes[p] = "did not build: " + err.Error()
		}
	}
	ioloop := filepath.Join(bin, "ioloop")
	_ = os.Remove(ioloop)
	if err := run(filepath.Dir(dir), "go", "build", "-o", ioloop, "./cmd/ioloop"); err != nil {
		_ = os.Remove(ioloop)
		notes["ioloop"] = "`go build ./cmd/ioloop` failed: " + err.Error()
	}
	return nil
}

// run runs argv in dir with its output on our standard error.
func run(dir string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// children tracks every process started, so that an interrupt kills them.
var children struct {
	sync.Mutex
	procs map[int]*os.Process
}

func track(p *os.Process) {
	children.Lock()
	if children.procs == nil {
		children.procs = map[int]*os.Process{}
	}
	children.procs[p.Pid] = p
	children.Unlock()
}

func untrack(p *os.Process) {
	children.Lock()
	delete(children.procs, p.Pid)
	children.Unlock()
}

func killAll() {
	children.Lock()
	for _, p := range children.procs {
		_ = p.Kill()
	}
	children.Unlock()
}

// pinned is argv under taskset on cpu; it dies with this process.
func pinned(cpu int, argv []string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu)}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// freePort returns the first port from p that 127.0.0.1 lets us bind.
func freePort(p int) (int, error) {
	for ; p < 32000; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port below 32000")
}

// banner is the line every server prints once it accepts. ioloop's
// `serve --https` says "https listening on ADDR"; both are taken.
func isBanner(line, addr string) bool {
	line = strings.TrimSpace(line)
	return line == "wss listening on "+addr || line == "https listening on "+addr
}

// startServer starts s pinned to serverCPU and waits (10 s at most) for
// its banner; its standard error goes to logPath.
func startServer(s server, addr string, serverCPU int, logPath string) (*os.Process, error) {
	cmd := pinned(serverCPU, s.argv(addr))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	logFile.Close()
	track(cmd.Process)
	go func() { _ = cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && isBanner(sc.Text(), addr) {
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if ok {
			return cmd.Process, nil
		}
		stopServer(cmd.Process)
		return nil, fmt.Errorf("exited without its banner (see %s)", logPath)
	case <-time.After(10 * time.Second):
		stopServer(cmd.Process)
		return nil, fmt.Errorf("no banner within 10s (see %s)", logPath)
	}
}

// stopServer sends SIGTERM, and SIGKILL after 2 s.
func stopServer(p *os.Process) {
	_ = p.Signal(syscall.SIGTERM)
	for i := 0; i < 200 && procstat.Alive(p.Pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	_ = p.Kill()
	untrack(p)
}
