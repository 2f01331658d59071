package procstat

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestStatFields(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := []byte("1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 3 0 50 1000 200")
	f := StatFields(line)
	if f[0] != "S" || f[1] != "1" || f[11] != "250" || f[12] != "37" {
		t.Fatalf("state %q ppid %q utime %q stime %q; want S 1 250 37", f[0], f[1], f[11], f[12])
	}
	if StatFields([]byte("no paren")) != nil {
		t.Fatal("a line without ')' must give no fields")
	}
}

func TestReadersOnSelf(t *testing.T) {
	pid := os.Getpid()
	t0, err := CPUTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Burn ~150 ms of CPU so the tick count must move (CLK_TCK is 100).
	for end := time.Now().Add(150 * time.Millisecond); time.Now().Before(end); {
	}
	t1, err := CPUTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	if t1 <= t0 {
		t.Fatalf("cpu ticks did not grow: %v -> %v", t0, t1)
	}
	if r, err := RSS(pid); err != nil || r < 1<<20 {
		t.Fatalf("RSS = %d, %v; want at least 1 MiB", r, err)
	}
	if !Alive(pid) {
		t.Fatal("this process is not alive")
	}
	if Alive(1 << 30) {
		t.Fatal("a pid that cannot exist is alive")
	}
	if _, err := CPUTicks(1 << 30); err == nil {
		t.Fatal("CPUTicks of a pid that cannot exist did not fail")
	}
	if n := FDCount(pid); n < 3 {
		t.Fatalf("FDCount = %d, want >= 3", n)
	}
	if FDCount(1<<30) != -1 {
		t.Fatal("FDCount of a pid that cannot exist is not -1")
	}
	if tk, err := ClockTicks(); err != nil || tk <= 0 {
		t.Fatalf("ClockTicks = %v, %v", tk, err)
	}
}

// TestTreeSumsChildren starts a child and a grandchild and checks that the
// tree holds them and that tree sums cover more than the root alone.
func TestTreeSumsChildren(t *testing.T) {
	// sh starts sleep in the background and waits: sh is the child, sleep
	// the grandchild.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	self := os.Getpid()
	var tree []int
	for i := 0; i < 200; i++ {
		tree = Tree(self)
		if len(tree) >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tree[0] != self || !slices.Contains(tree, cmd.Process.Pid) {
		t.Fatalf("Tree(%d) = %v; want self first and the child %d", self, tree, cmd.Process.Pid)
	}
	sub := Tree(cmd.Process.Pid)
	if len(sub) != 2 || sub[0] != cmd.Process.Pid {
		t.Fatalf("Tree(child) = %v; want the child and its sleep", sub)
	}
	one, err := RSS(sub[0])
	if err != nil {
		t.Fatal(err)
	}
	all, err := TreeRSS(sub[0])
	if err != nil {
		t.Fatal(err)
	}
	if all <= one {
		t.Fatalf("TreeRSS %d not above the root's RSS %d", all, one)
	}
	if n, k := TreeFDCount(sub[0]), FDCount(sub[0]); n <= k {
		t.Fatalf("TreeFDCount %d not above the root's %d", n, k)
	}
	if _, err := TreeCPUTicks(sub[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := TreeRSS(1 << 30); err == nil {
		t.Fatal("TreeRSS of a pid that cannot exist did not fail")
	}
}

func FuzzStatFields(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11"))
	f.Add([]byte("7 (a) b)) R 1"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := StatFields(b)
		if !bytesContain(b, ')') {
			if got != nil {
				t.Fatalf("no ')' but fields %q", got)
			}
			return
		}
		for _, s := range got {
			if s == "" || slices.Contains([]byte(s), ' ') {
				t.Fatalf("field %q is empty or holds a space", s)
			}
		}
	})
}

func bytesContain(b []byte, c byte) bool { return slices.Contains(b, c) }
