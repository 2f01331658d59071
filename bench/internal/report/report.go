// Package report holds what the benchmark harnesses (runbench for echo,
// runhttp for HTTP) share when they turn rounds into a Markdown report:
// medians, ratios, sizes, and writing the report and the raw rounds to
// out/.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// Median returns the median of xs (0 for none); xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio formats x/ref as "1.50×", or "–" when either is missing.
func Ratio(x, ref float64) string {
	if ref <= 0 || x <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", x/ref)
}

// MiB converts bytes to mebibytes.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }

// Save writes the Markdown report md to path (default
// DIR/out/KIND-TIMESTAMP.md) and to DIR/out/KIND-latest.md, and raw as
// indented JSON to DIR/out/KIND-TIMESTAMP.json. It returns the report's
// path; a file that cannot be written is reported through logf.
func Save(dir, kind, path, md string, raw any, logf func(string, ...any)) (string, error) {
	stamp := time.Now().Format("20060102-150405")
	outDir := filepath.Join(dir, "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	if path == "" {
		path = filepath.Join(outDir, kind+"-"+stamp+".md")
	}
	js, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return "", err
	}
	for p, data := range map[string][]byte{
		path:                                     []byte(md),
		filepath.Join(outDir, kind+"-latest.md"): []byte(md),
		filepath.Join(outDir, kind+"-"+stamp+".json"): js,
	} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			logf("%v", err)
		}
	}
	return path, nil
}
