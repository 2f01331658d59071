// Command loadgen is the fallback TCP echo load generator of the ioloop
// benchmarks, used by runbench only when `ioloop bench echo` is not
// available. It takes the same flags and prints the same JSON object.
//
// Model: -conns connections, one goroutine each. Every connection keeps
// exactly -pipeline messages of -size bytes in flight: it sends that many
// at once, and each time echoed messages complete it sends as many new
// ones in one write. A round trip (an "op") is one message sent and its
// echo received in full; its latency runs from the write that sent it to
// the read that completed it.
//
// Every echoed byte is checked: message number k of connection i has
// content that is a function of (i, k) only (its first 8 bytes hold
// k + i<<40 when the size allows), so a lost, duplicated, reordered or corrupted message
// is detected; such a connection stops and counts one error.
//
// All connections are dialed first (bounded by a 5 s timeout each); the
// measured window starts when all are up and lasts -duration. Only round
// trips completed inside the window count. The lines "window-start" and
// "window-end" are written to standard error at the window's edges so a
// harness can sample server CPU over exactly the window.
//
// Output (-json): one object with workload, conns, duration_s, ops,
// ops_per_s, mb_per_s (echoed payload, one direction, 10^6 bytes/s),
// p50_us, p90_us, p99_us, p999_us and errors.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/bits"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Latency histogram: log-linear over nanoseconds, 64 sub-buckets per power
// of two (relative error below 1.6 %), values below 128 ns exact.
const (
	subBits  = 6
	subCount = 1 << subBits
	nBuckets = 2*subCount + 40*subCount
)

type hist struct{ counts [nBuckets]uint32 }

func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e in [64,128)
	i := 2*subCount + (e-1)*subCount + int(v>>uint(e)) - subCount
	if i >= nBuckets {
		return nBuckets - 1
	}
	return i
}

// lowOf is the smallest value of bucket i; highOf the largest.
func lowOf(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	j := i - 2*subCount
	e := j/subCount + 1
	return uint64(subCount+j%subCount) << uint(e)
}

func highOf(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	return lowOf(i+1) - 1
}

func (h *hist) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(uint64(ns))]++
}

// quantile returns the midpoint of the bucket holding quantile q, in ns.
func quantile(counts []uint64, total uint64, q float64) float64 {
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return float64(lowOf(i)+highOf(i)) / 2
		}
	}
	return float64(highOf(len(counts) - 1))
}

// fill writes the content of message seq of connection id into m.
func fill(m []byte, id int, seq uint64) {
	off := 0
	if len(m) >= 8 {
		binary.LittleEndian.PutUint64(m, seq+uint64(id)<<40)
		off = 8
	}
	x := uint32(seq)*2654435761 ^ uint32(id)*40503
	for j := off; j < len(m); j++ {
		x = x*1664525 + 1013904223
		m[j] = byte(x >> 24)
	}
}

type worker struct {
	id       int
	conn     net.Conn
	size     int
	pipeline int
	ops      uint64
	err      error
	h        hist
}

var errMismatch = errors.New("loadgen: echoed bytes differ from the bytes sent")

// run drives one connection from start until end.
func (w *worker) run(start <-chan struct{}, end *time.Time) {
	defer w.conn.Close()
	<-start
	stop := *end
	if err := w.conn.SetDeadline(stop); err != nil {
		w.err = err
		return
	}
	size, p := w.size, w.pipeline
	out := make([]byte, size*p)
	in := make([]byte, max(size*p, 4096)+size)
	want := make([]byte, size)
	sent := make([]int64, p) // send time of message seq at seq%p
	base := time.Now()
	var sendSeq, recvSeq uint64
	send := func(k int) error {
		now := int64(time.Since(base))
		for i := 0; i < k; i++ {
			fill(out[i*size:(i+1)*size], w.id, sendSeq)
			sent[sendSeq%uint64(p)] = now
			sendSeq++
		}
		_, err := w.conn.Write(out[:k*size])
		return err
	}
	if err := send(p); err != nil {
		w.fail(err, stop)
		return
	}
	have := 0
	for {
		n, err := w.conn.Read(in[have:])
		have += n
		now := time.Now()
		nowNs := int64(now.Sub(base))
		inWindow := now.Before(stop)
		done := 0
		for have-done >= size {
			fill(want, w.id, recvSeq)
			if !bytes.Equal(in[done:done+size], want) {
				w.err = errMismatch
				return
			}
			if inWindow {
				w.ops++
				w.h.add(nowNs - sent[recvSeq%uint64(p)])
			}
			recvSeq++
			done += size
		}
		if done > 0 {
			have = copy(in, in[done:have])
		}
		if err != nil {
			w.fail(err, stop)
			return
		}
		if !inWindow {
			return
		}
		if done > 0 {
			if err := send(done / size); err != nil {
				w.fail(err, stop)
				return
			}
		}
	}
}

// fail records err unless it is the deadline at the end of the window.
func (w *worker) fail(err error, stop time.Time) {
	if errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(stop) {
		return
	}
	w.err = err
}

type result struct {
	Workload string  `json:"workload"`
	Conns    int     `json:"conns"`
	Duration float64 `json:"duration_s"`
	Ops      uint64  `json:"ops"`
	OpsPerS  float64 `json:"ops_per_s"`
	MBPerS   float64 `json:"mb_per_s"`
	P50      float64 `json:"p50_us"`
	P90      float64 `json:"p90_us"`
	P99      float64 `json:"p99_us"`
	P999     float64 `json:"p999_us"`
	Errors   int     `json:"errors"`
}

func raiseNofile(need uint64) {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return
	}
	if r.Cur < need {
		r.Cur = min(need, r.Max)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

func main() {
	target := flag.String("target", "127.0.0.1:7000", "server address (host:port)")
	conns := flag.Int("conns", 1000, "number of connections")
	duration := flag.Duration("duration", 10*time.Second, "length of the measured window")
	size := flag.Int("size", 64, "message size in bytes")
	pipeline := flag.Int("pipeline", 1, "messages in flight per connection")
	asJSON := flag.Bool("json", false, "print one JSON object")
	flag.Parse()
	if *conns < 1 || *size < 1 || *pipeline < 1 || *duration <= 0 || *size**pipeline > 64<<20 {
		fmt.Fprintln(os.Stderr, "loadgen: need conns, size, pipeline >= 1, duration > 0, size*pipeline <= 64 MiB")
		os.Exit(2)
	}
	raiseNofile(uint64(*conns) + 64)

	workers := make([]*worker, *conns)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		dialErr int
		firstE  error
	)
	sem := make(chan struct{}, 64)
	for i := range workers {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", *target, 5*time.Second)
			if err != nil {
				mu.Lock()
				dialErr++
				if firstE == nil {
					firstE = err
				}
				mu.Unlock()
				return
			}
			workers[i] = &worker{id: i, conn: c, size: *size, pipeline: *pipeline}
		}(i)
	}
	wg.Wait()
	if dialErr == *conns {
		fmt.Fprintln(os.Stderr, "loadgen: no connection:", firstE)
		os.Exit(1)
	}
	if firstE != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %d dials failed, first: %v\n", dialErr, firstE)
	}

	start := make(chan struct{})
	var end time.Time
	for _, w := range workers {
		if w != nil {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(start, &end) }()
		}
	}
	t0 := time.Now()
	end = t0.Add(*duration)
	fmt.Fprintln(os.Stderr, "window-start")
	close(start)
	time.Sleep(time.Until(end))
	fmt.Fprintln(os.Stderr, "window-end")
	wg.Wait()
	elapsed := end.Sub(t0).Seconds()

	merged := make([]uint64, nBuckets)
	var ops, total uint64
	errs := dialErr
	for _, w := range workers {
		if w == nil {
			continue
		}
		ops += w.ops
		for i, c := range w.h.counts {
			merged[i] += uint64(c)
			total += uint64(c)
		}
		if w.err != nil {
			if errs == dialErr {
				fmt.Fprintln(os.Stderr, "loadgen: first connection error:", w.err)
			}
			errs++
		}
	}
	r := result{
		Workload: "echo",
		Conns:    *conns,
		Duration: elapsed,
		Ops:      ops,
		OpsPerS:  float64(ops) / elapsed,
		MBPerS:   float64(ops) * float64(*size) / elapsed / 1e6,
		P50:      quantile(merged, total, 0.50) / 1e3,
		P90:      quantile(merged, total, 0.90) / 1e3,
		P99:      quantile(merged, total, 0.99) / 1e3,
		P999:     quantile(merged, total, 0.999) / 1e3,
		Errors:   errs,
	}
	if *asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("%d conns, %d B x %d in flight, %.1fs: %d round trips, %.0f/s, %.2f MB/s, p50 %.1fus p90 %.1fus p99 %.1fus p99.9 %.1fus, %d errors\n",
		r.Conns, *size, *pipeline, r.Duration, r.Ops, r.OpsPerS, r.MBPerS, r.P50, r.P90, r.P99, r.P999, r.Errors)
}
