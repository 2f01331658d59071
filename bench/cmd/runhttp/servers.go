package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/bench/internal/procstat"
)

// serverNames lists every server the harness knows, in report order.
var serverNames = []string{"c", "fasthttp", "gnet", "ioloop", "ioloop-adapter", "ioloop-uring", "ioloop-base", "ioloop-base-uring", "nbio", "net", "nginx"}

// tlsServerNames lists the servers of the HTTPS benchmark (-tls).
var tlsServerNames = []string{"fasthttp", "ioloop", "nbio", "net", "nginx"}

// server describes how to start one HTTP server.
type server struct {
	name string
	// argv returns the command line for addr; dir is a fresh temporary
	// directory the server may use (nginx writes its config there).
	argv func(addr, dir string, loops int) ([]string, error)
	// banner is true when the server prints "http listening on ADDR"
	// ("https listening on ADDR" with -tls) once it accepts; otherwise the
	// harness waits until it accepts.
	banner bool
}

// peerPath is where build puts the Go and C peers.
func peerPath(bin, name string) string { return filepath.Join(bin, "http-"+name) }

// build compiles the peers and tools of the mode into bin; a peer that
// fails to build is left out with a note. ioloop is built from the
// repository root.
func build(dir, bin string, tls bool, notes map[string]string) {
	if err := os.MkdirAll(bin, 0o755); err != nil {
		fatalf("%v", err)
	}
	tools := []string{"idleconns"}
	peers := []string{"fasthttp", "gnet", "nbio", "net"}
	if tls {
		tools = append(tools, "handshakes")
		peers = []string{"fasthttp", "nbio", "net"} // gnet has no TLS
	}
	for _, t := range tools {
		if err := run(dir, "go", "build", "-o", filepath.Join(bin, t), "./cmd/"+t); err != nil {
			fatalf("building %s: %v", t, err)
		}
	}
	for _, p := range peers {
		_ = os.Remove(peerPath(bin, p))
		if err := run(dir, "go", "build", "-o", peerPath(bin, p), "./http/"+p); err != nil {
			notes[p] = "did not build: " + err.Error()
		}
	}
	if !tls {
		_ = os.Remove(peerPath(bin, "c"))
		if err := run(dir, "gcc", "-O2", "-o", peerPath(bin, "c"), "http/c/plaintext.c"); err != nil {
			notes["c"] = "did not build: " + err.Error()
		}
	}
	root := filepath.Dir(dir)
	ioloop := filepath.Join(bin, "ioloop")
	_ = os.Remove(ioloop)
	if err := run(root, "go", "build", "-o", ioloop, "./cmd/ioloop"); err != nil {
		_ = os.Remove(ioloop)
		notes["ioloop"] = "`go build ./cmd/ioloop` failed: " + err.Error()
		notes["ioloop-adapter"] = notes["ioloop"]
		notes["ioloop-uring"] = notes["ioloop"]
	}
}

// run runs argv in dir with its output on our standard error.
func run(dir string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// choose returns the servers to measure: those asked for (all by default)
// that have a binary; the others get a note.
func choose(c config, bin string, notes map[string]string) []server {
	var out []server
	for name := range notes {
		if !slices.Contains(c.serverNames(), name) {
			delete(notes, name) // not a server of this mode
		}
	}
	for _, s := range servers(c, bin) {
		if c.servers != nil && !slices.Contains(c.servers, s.name) {
			delete(notes, s.name)
			continue
		}
		if _, bad := notes[s.name]; bad {
			continue
		}
		argv, err := s.argv("127.0.0.1:1", os.TempDir(), 1)
		if err == nil {
			_, err = exec.LookPath(argv[0])
		}
		if err != nil {
			notes[s.name] = "not available: " + err.Error()
			continue
		}
		out = append(out, s)
	}
	return out
}

// servers returns every server definition of the mode.
func servers(c config, bin string) []server {
	peer := func(name string) server {
		return server{name: name, banner: true, argv: func(addr, _ string, loops int) ([]string, error) {
			argv := []string{peerPath(bin, name), "-addr", addr, "-loops", itoa(loops)}
			if c.tls {
				argv = append(argv, "-cert", c.cert, "-key", c.key)
			}
			return argv, nil
		}}
	}
	ioloopAt := func(name, path, args string) server {
		return server{name: name, banner: true, argv: func(addr, _ string, loops int) ([]string, error) {
			if strings.TrimSpace(args) == "" {
				return nil, errors.New("no command line given")
			}
			if path == "" {
				return nil, errors.New("no binary given (-base-bin)")
			}
			return append([]string{path}, expand(args, addr, loops)...), nil
		}}
	}
	ioloop := func(name, args string) server { return ioloopAt(name, filepath.Join(bin, "ioloop"), args) }
	if c.tls {
		files := strings.NewReplacer("{cert}", c.cert, "{key}", c.key)
		return []server{
			peer("fasthttp"), ioloop("ioloop", files.Replace(c.httpsArgs)), peer("nbio"), peer("net"),
			{name: "nginx", argv: func(addr, dir string, loops int) ([]string, error) {
				conf := filepath.Join(dir, "nginx.conf")
				if err := os.WriteFile(conf, []byte(nginxTLSConf(addr, dir, loops, c.cert, c.key)), 0o644); err != nil {
					return nil, err
				}
				return []string{c.nginx, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")}, nil
			}},
		}
	}
	return []server{
		peer("c"), peer("fasthttp"), peer("gnet"),
		ioloop("ioloop", c.ioloopArgs), ioloop("ioloop-adapter", c.adapterArgs),
		ioloop("ioloop-uring", c.ioloopArgs+" --io-uring"),
		ioloopAt("ioloop-base", c.baseBin, c.ioloopArgs),
		ioloopAt("ioloop-base-uring", c.baseBin, c.ioloopArgs+" --io-uring"),
		peer("nbio"), peer("net"),
		{name: "nginx", argv: func(addr, dir string, loops int) ([]string, error) {
			conf := filepath.Join(dir, "nginx.conf")
			if err := os.WriteFile(conf, []byte(nginxConf(addr, dir, loops)), 0o644); err != nil {
				return nil, err
			}
			return []string{c.nginx, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")}, nil
		}},
	}
}

// expand splits a command-line template at spaces and replaces {addr}
// and {loops}.
func expand(tmpl, addr string, loops int) []string {
	f := strings.Fields(tmpl)
	for i := range f {
		f[i] = strings.ReplaceAll(strings.ReplaceAll(f[i], "{addr}", addr), "{loops}", itoa(loops))
	}
	return f
}

// nginxConf returns the configuration of the nginx peer: worker_processes
// loops, no daemon, no access log, `return 200 "Hello, World!"` as
// text/plain on exactly /plaintext (404 elsewhere), with every path it
// writes inside dir. Two settings differ from nginx's defaults so that the
// benchmark measures serving rather than limits: keepalive_requests is
// raised from 1000 (nginx would close every wrk connection after 1000
// requests) and worker_connections from 512 (the idle test holds 10,000).
func nginxConf(addr, dir string, loops int) string {
	return nginxConfig(dir, loops, "listen "+addr+";", "/plaintext")
}

// nginxTLSConf is nginxConf for the HTTPS benchmark: the same settings,
// listening with TLS 1.3 only and the certificate and key given, and
// answering on exactly / and /plaintext. Everything else about TLS is
// nginx's default (session tickets on, no session cache).
func nginxTLSConf(addr, dir string, loops int, cert, key string) string {
	return nginxConfig(dir, loops, fmt.Sprintf(`listen %s ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_protocols TLSv1.3;`, addr, cert, key), "/", "/plaintext")
}

// nginxConfig writes the configuration of nginxConf with the listen
// directives given and a location answering "Hello, World!" for each
// path.
func nginxConfig(dir string, loops int, listen string, paths ...string) string {
	var locs strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&locs, `        location = %s {
            return 200 "Hello, World!";
        }
`, p)
	}
	return fmt.Sprintf(`worker_processes %d;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
worker_rlimit_nofile 65536;
events {
    worker_connections 65536;
}
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    client_body_temp_path %[2]s/body;
    server {
        %[3]s
%[4]s    }
}
`, loops, dir, listen, locs.String())
}

// proc is a running server: its process, and the temporary directory
// removed when it stops.
type proc struct {
	pid  int
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when cmd.Wait returns
	log  string
}

// pinned returns argv run under taskset on cpu, killed if we die.
func pinned(cpu int, argv []string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", itoa(cpu)}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startServer starts s pinned on addr and waits (10 s at most) for its
// banner, or for it to accept when it prints none.
func startServer(c config, s server, addr string) (*proc, error) {
	dir, err := os.MkdirTemp("", "runhttp-"+s.name+"-")
	if err != nil {
		return nil, err
	}
	argv, err := s.argv(addr, dir, c.loops)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := pinned(c.serverCPU, argv)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logPath := filepath.Join(c.dir, "out", "server-"+c.scheme()+"-"+s.name+".log")
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	logFile.Close()
	p := &proc{pid: cmd.Process.Pid, cmd: cmd, dir: dir, done: make(chan struct{}), log: logPath}
	track(p.pid)
	go func() { _ = cmd.Wait(); close(p.done) }()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && s.banner && strings.TrimSpace(sc.Text()) == c.scheme()+" listening on "+addr {
				found = true
				ready <- true
			}
		}
		if s.banner && !found {
			ready <- false
		}
	}()
	const wait = 10 * time.Second
	if !s.banner {
		limit := time.Now().Add(wait)
		go func() {
			for time.Now().Before(limit) {
				select {
				case <-p.done:
					ready <- false
					return
				default:
				}
				if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
					conn.Close()
					ready <- true
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	select {
	case ok := <-ready:
		if ok {
			// nginx's workers are children of its master: track them too,
			// so that an interrupt kills them with it.
			time.Sleep(100 * time.Millisecond)
			track(procstat.Tree(p.pid)...)
			return p, nil
		}
		p.stop()
		return nil, fmt.Errorf("exited without serving: %s", lastLine(logPath))
	case <-time.After(wait):
		p.stop()
		return nil, fmt.Errorf("not serving within 10s: %s", lastLine(logPath))
	}
}

// lastLine returns the last non-empty line of the file at path, for a
// short failure note.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		if len(l) > 200 {
			l = l[:200] + "…"
		}
		return fmt.Sprintf("%q (see %s)", l, path)
	}
	return "empty log " + path
}

// stop sends SIGTERM to the server, SIGKILL to its whole tree after 2 s,
// and removes its temporary directory.
func (p *proc) stop() {
	tree := procstat.Tree(p.pid)
	_ = syscall.Kill(p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
	for _, pid := range tree {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-p.done
	untrack(tree...)
	untrack(p.pid)
	// Workers exit with their master; wait until they are gone (1 s).
	for i := 0; i < 100; i++ {
		alive := false
		for _, pid := range tree[1:] {
			alive = alive || procstat.Alive(pid)
		}
		if !alive {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.RemoveAll(p.dir)
}

// freePort returns the first port from p on that 127.0.0.1 lets us bind.
func freePort(p int) int {
	for ; p < 32000; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return p
		}
	}
	fatalf("no free port below 32000")
	return 0
}
