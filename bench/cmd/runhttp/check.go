package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// body is what /plaintext must answer.
const body = "Hello, World!"

// checkServer runs every correctness check against the server on addr.
func checkServer(addr string, depth int) error {
	if err := checkCurl(addr); err != nil {
		return fmt.Errorf("curl: %w", err)
	}
	if err := checkPipelined(addr, depth); err != nil {
		return fmt.Errorf("%d pipelined requests: %w", depth, err)
	}
	return nil
}

// checkCurl fetches /plaintext twice on one connection with curl: the
// first response's head and body must pass checkResponse and the second
// fetch must reuse the connection (keep-alive).
func checkCurl(addr string) error {
	dir, err := os.MkdirTemp("", "runhttp-curl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	url := "http://" + addr + "/plaintext"
	head, bodyFile := filepath.Join(dir, "head"), filepath.Join(dir, "body")
	out, err := exec.Command("curl", "-sS", "--http1.1", "--max-time", "5",
		"-D", head, "-o", bodyFile, "-w", `%{http_code} %{num_connects}\n`, url,
		"-o", "/dev/null", "-w", `%{http_code} %{num_connects}\n`, url).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	if got := string(out); got != "200 1\n200 0\n" {
		return fmt.Errorf("two fetches on one connection gave (status, new connections) %q, want %q", got, "200 1\n200 0\n")
	}
	h, err := os.ReadFile(head)
	if err != nil {
		return err
	}
	// Only the first transfer's head: curl may append the second's.
	if i := bytes.Index(h, []byte("\r\n\r\n")); i >= 0 {
		h = h[:i+2]
	}
	b, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	return checkResponse(h, b, time.Now())
}

// checkResponse checks one response's head (status line and header lines
// as received, CRLF-separated) and body against what /plaintext must
// answer at time now.
func checkResponse(head, got []byte, now time.Time) error {
	lines := strings.Split(strings.TrimRight(string(head), "\r\n"), "\r\n")
	if !strings.HasPrefix(lines[0], "HTTP/1.1 200") {
		return fmt.Errorf("status line %q, want HTTP/1.1 200", lines[0])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" || strings.TrimSpace(k) != k {
			return fmt.Errorf("malformed header line %q", l)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	var errs []error
	if string(got) != body {
		errs = append(errs, fmt.Errorf("body %q, want %q", got, body))
	}
	if v := h.Values("Content-Length"); len(v) != 1 || v[0] != "13" {
		errs = append(errs, fmt.Errorf("Content-Length %q, want exactly one 13", v))
	}
	if v := h.Values("Content-Type"); len(v) != 1 || !strings.HasPrefix(v[0], "text/plain") {
		errs = append(errs, fmt.Errorf("Content-Type %q, want text/plain", v))
	}
	if v := h.Get("Server"); v == "" {
		errs = append(errs, errors.New("no Server header"))
	}
	if v := h.Values("Date"); len(v) != 1 {
		errs = append(errs, fmt.Errorf("Date %q, want exactly one", v))
	} else if d, err := http.ParseTime(v[0]); err != nil {
		errs = append(errs, fmt.Errorf("Date %q does not parse: %v", v[0], err))
	} else if dt := now.Sub(d); dt < -10*time.Second || dt > 10*time.Second {
		errs = append(errs, fmt.Errorf("Date %q is %v away from now", v[0], dt.Round(time.Second)))
	}
	if v := h.Values("Transfer-Encoding"); len(v) > 0 {
		errs = append(errs, fmt.Errorf("Transfer-Encoding %q on a 13-byte body", v))
	}
	if strings.EqualFold(h.Get("Connection"), "close") {
		errs = append(errs, errors.New("Connection: close on a keep-alive request"))
	}
	return errors.Join(errs...)
}

// pipelinedRequest is the request wrk sends (pipeline.lua's headers).
func pipelinedRequest(addr string) string {
	return "GET /plaintext HTTP/1.1\r\nHost: " + addr + "\r\n" +
		"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
		"Connection: keep-alive\r\n\r\n"
}

// checkPipelined writes depth requests on one connection in three pieces
// cut inside request heads (20 ms apart, so that they arrive in separate
// reads), then wants depth correct responses in order and nothing more.
// It takes 5 s at most.
func checkPipelined(addr string, depth int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	burst := strings.Repeat(pipelinedRequest(addr), depth)
	werr := make(chan error, 1)
	go func() {
		cuts := []int{0, len(burst)/3 + 7, 2*len(burst)/3 + 3, len(burst)}
		for i := 1; i < len(cuts); i++ {
			if _, err := io.WriteString(c, burst[cuts[i-1]:cuts[i]]); err != nil {
				werr <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		werr <- nil
	}()
	r := bufio.NewReader(c)
	for i := 0; i < depth; i++ {
		head, got, err := readResponse(r)
		if err != nil {
			return fmt.Errorf("response %d: %w", i+1, err)
		}
		if err := checkResponse(head, got, time.Now()); err != nil {
			return fmt.Errorf("response %d: %w", i+1, err)
		}
	}
	if err := <-werr; err != nil {
		return err
	}
	// Nothing more may arrive.
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("bytes after the %d responses", depth)
	}
	return nil
}

// readResponse reads one response framed by Content-Length (at most 1 MiB)
// from r and returns its head, as received, and its body.
func readResponse(r *bufio.Reader) (head, got []byte, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, nil, err
		}
		head = append(head, line...)
		if len(head) > 16<<10 {
			return nil, nil, errors.New("response head over 16 KiB")
		}
		if string(line) == "\r\n" {
			break
		}
	}
	n := -1
	for _, l := range strings.Split(string(head), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Length") {
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &n); err != nil || n < 0 || n > 1<<20 {
				return nil, nil, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if n < 0 {
		return nil, nil, fmt.Errorf("no Content-Length in %q", head)
	}
	got = make([]byte, n)
	if _, err := io.ReadFull(r, got); err != nil {
		return nil, nil, err
	}
	return head, got, nil
}
