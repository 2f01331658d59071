package ioloop_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/ioloop/ioloop"

// layers lists, for each directory of the module (longest prefix wins), the
// module packages and outside modules it may import, following the layers of
// DESIGN.md: imports only point down.
var layers = []struct {
	dir     string   // module-relative directory prefix
	mayUse  []string // module-relative package prefixes ("." is the root package)
	mayXSys bool     // may import golang.org/x/sys
}{
	{dir: "internal/poller", mayXSys: true},
	{dir: "internal/sock", mayXSys: true},
	{dir: "internal/buffer"},
	{dir: "internal/timer"},
	{dir: "internal/mailbox"},
	{dir: "internal/onloop"},
	{dir: "internal/tlsio"},      // the net.Conn crypto/tls runs over, fed by a loop
	{dir: "internal/leaktest"},   // test support: the tests of the layers above may use it
	{dir: "internal/selfsigned"}, // ephemeral certificates: serve --https and the tests
	{dir: "async", mayUse: []string{"internal/onloop"}},
	{dir: ".", mayUse: []string{"internal/poller", "internal/sock", "internal/buffer", "internal/timer", "internal/mailbox", "internal/onloop", "internal/leaktest", "internal/tlsio", "internal/selfsigned", "async"}},
	{dir: "internal/httpparse"}, // the HTTP/1.1 parser of http1 and of websocket's client handshake
	{dir: "http1", mayUse: []string{".", "async", "internal/httpparse", "internal/onloop", "internal/poller", "internal/leaktest", "internal/tlsio", "internal/selfsigned"}},
	{dir: "websocket/internal/frame"},
	{dir: "websocket", mayUse: []string{"internal/onloop", ".", "async", "http1", "internal/httpparse", "websocket/internal/frame", "internal/leaktest", "internal/tlsio", "internal/selfsigned"}},
	{dir: "cmd", mayUse: []string{".", "async", "http1", "websocket", "internal/selfsigned"}},
	{dir: "examples", mayUse: []string{".", "async", "http1", "websocket"}},
}

func layerOf(dir string) (int, bool) {
	best, found := -1, false
	for i, l := range layers {
		if l.dir == "." {
			if dir == "." && !found {
				best, found = i, true
			}
			continue
		}
		if (dir == l.dir || strings.HasPrefix(dir, l.dir+"/")) && (!found || len(l.dir) > len(layers[best].dir)) {
			best, found = i, true
		}
	}
	return best, found
}

// TestLayers fails when a package imports a package above it in DESIGN.md's
// layers, or an outside module the core may not depend on.
func TestLayers(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (d.Name() == "bench" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		li, ok := layerOf(dir)
		if !ok {
			t.Errorf("%s: directory %s has no layer in deps_test.go: add it to DESIGN.md and here", path, dir)
			return nil
		}
		l := layers[li]
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			checked++
			switch {
			case p == module || strings.HasPrefix(p, module+"/"):
				rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
				if rel == "" {
					rel = "."
				}
				if rel == dir {
					continue
				}
				allowed := false
				for _, m := range l.mayUse {
					if rel == m || (m != "." && strings.HasPrefix(rel, m+"/")) {
						allowed = true
					}
				}
				if !allowed {
					t.Errorf("%s imports %s: %s may not depend on %s (DESIGN.md layers)", path, p, dir, rel)
				}
			case strings.HasPrefix(p, "golang.org/x/sys/"):
				if !l.mayXSys {
					t.Errorf("%s imports %s: only internal/poller and internal/sock may name the OS", path, p)
				}
			case strings.Contains(strings.Split(p, "/")[0], "."):
				t.Errorf("%s imports %s: the core module depends on the standard library and golang.org/x/sys only", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no imports checked: the walk found no Go files")
	}
}

func TestLayerTable(t *testing.T) {
	for _, c := range []struct {
		dir  string
		want string
	}{
		{dir: ".", want: "."},
		{dir: "internal/poller", want: "internal/poller"},
		{dir: "internal/httpparse", want: "internal/httpparse"},
		{dir: "http1", want: "http1"},
		{dir: "cmd/ioloop", want: "cmd"},
	} {
		i, ok := layerOf(c.dir)
		if !ok || layers[i].dir != c.want {
			t.Errorf("layerOf(%q) = %v, %v; want %q", c.dir, i, ok, c.want)
		}
	}
	if _, ok := layerOf("nowhere"); ok {
		t.Error("layerOf(nowhere) found a layer")
	}
}
