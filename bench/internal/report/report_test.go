package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestMedianRatioMiB(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{in: nil, want: 0}, {in: []float64{3}, want: 3}, {in: []float64{5, 1, 3}, want: 3}, {in: []float64{4, 1, 3, 2}, want: 2.5}} {
		in := append([]float64(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("Median reordered its input: %v", tc.in)
			}
		}
	}
	if Ratio(3, 2) != "1.50×" || Ratio(3, 0) != "–" || Ratio(0, 2) != "–" {
		t.Errorf("Ratio: %q %q %q", Ratio(3, 2), Ratio(3, 0), Ratio(0, 2))
	}
	if MiB(3<<20) != 3 {
		t.Errorf("MiB(3 MiB) = %v", MiB(3<<20))
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path, err := Save(dir, "echo", "", "# report\n", map[string]int{"rounds": 3}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(path)
	if err != nil || string(md) != "# report\n" {
		t.Fatalf("report %q, %v", md, err)
	}
	latest, _ := os.ReadFile(filepath.Join(dir, "out", "echo-latest.md"))
	if string(latest) != "# report\n" {
		t.Fatalf("latest %q", latest)
	}
	jsons, _ := filepath.Glob(filepath.Join(dir, "out", "echo-*.json"))
	if len(jsons) != 1 {
		t.Fatalf("%d JSON files", len(jsons))
	}
	var raw map[string]int
	b, _ := os.ReadFile(jsons[0])
	if err := json.Unmarshal(b, &raw); err != nil || raw["rounds"] != 3 {
		t.Fatalf("raw %s, %v", b, err)
	}
}
