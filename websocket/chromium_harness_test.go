package websocket_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// chromiumHarness returns the node harness directory and the Chromium
// executable, or skips the test when one of them is missing. Under CI (the
// CI environment variable set) a missing tool fails the test instead: CI
// installs all of them (.ci/run), so a skip there would hide a broken setup.
func chromiumHarness(t *testing.T) (dir, chromium string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but "+format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed: the browser interop test drives Chromium from node")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		missing("chromium is not installed (apt-get install chromium)")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing("the npm playwright-core package is not installed: run `npm ci --prefix websocket/testdata/node`")
	}
	return dir, chromium
}

// browserResult is one JSON line of testdata/node/browser.mjs: the result of
// one check of testdata/browser/checks.js.
type browserResult struct {
	Check      string `json:"check"`
	OK         bool   `json:"ok"`
	Detail     string `json:"detail"`
	Extensions string `json:"extensions"`
	Protocol   string `json:"protocol"`
	UserAgent  string `json:"userAgent"`
	Sent       []struct {
		Type   string `json:"type"`
		Len    int    `json:"len"`
		SHA256 string `json:"sha256"`
	} `json:"sent"`
	Close *struct {
		Code     int    `json:"code"`
		Reason   string `json:"reason"`
		WasClean bool   `json:"wasClean"`
	} `json:"close"`
}
