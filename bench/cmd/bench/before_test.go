package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/bench/internal/stores"
)

// TestReadBefore reads the committed results.md back: every figure of its
// "Every figure" table, in the units format writes. The bands only check
// that a figure is read in the right unit (allocations, bytes,
// nanoseconds), wide enough to hold any regenerated report.
func TestReadBefore(t *testing.T) {
	f, err := readBefore(filepath.Join("..", "..", "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		store, key string
		min, max   float64
	}{
		{stores.LivedbBolt, "W1.allocs", 10, 500},
		{stores.RawBolt, "W7n100000.size", 90 << 20, 110 << 20},
		{stores.LivedbBolt, "W2x1.ns", 1e5, 1e8},
	} {
		x, ok := f.get(c.store, c.key)
		if !ok || x < c.min || x > c.max {
			t.Errorf("%s %s = %v (found %v), want within [%v, %v]", c.store, c.key, x, ok, c.min, c.max)
		}
	}
}

func TestParseFigure(t *testing.T) {
	for in, want := range map[string]float64{
		"1.30 ms": 1.3e6, "-311 ns": -311, "25.8 µs": 25800, "1.78 GiB": 1.78 * (1 << 30),
		"2.4 KiB": 2.4 * 1024, "60.92": 60.92, "3.48 s": 3.48e9, "256 B": 256,
	} {
		got, err := parseFigure(in)
		if err != nil || got != want {
			t.Errorf("parseFigure(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ms", "1.0 parsecs"} {
		if _, err := parseFigure(bad); err == nil {
			t.Errorf("parseFigure(%q) did not fail", bad)
		}
	}
}

// TestReadBefore_NoTable: a file without the table is an error, not an
// empty comparison.
func TestReadBefore_NoTable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.md")
	if err := os.WriteFile(p, []byte("# nothing here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readBefore(p); err == nil || !strings.Contains(err.Error(), "Every figure") {
		t.Errorf("err = %v, want one naming the missing table", err)
	}
}
