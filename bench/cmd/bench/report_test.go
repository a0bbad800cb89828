package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/bench/internal/stores"
	"github.com/livedb-go/livedb/bench/internal/workload"
)

// testReport is a report of one run with the figures given, store by
// store, each figure as its values over the rounds.
func testReport(figs map[string]map[string][]float64) *report {
	c := &config{n: 100_000, rounds: 3, opens: 3, commits: 200, w8procs: 1, ops: 1, boltOps: 0.1, subs: []int{1, 100}}
	r := &report{cfg: c, results: map[string]*result{}}
	for _, k := range stores.All {
		if f, ok := figs[k.Name]; ok {
			r.results[k.Name] = &result{rounds: f}
			r.order = append(r.order, k.Name)
		}
	}
	return r
}

// memoryFigures are the read figures of livedb in memory through both
// APIs and of go-memdb, chosen so that every ratio to go-memdb is
// distinct: map 3×, typed 1.5× (W3, W4, W5, W8), and the writes (W1,
// W2, W6) of the typed store, which the tables must not show.
func memoryFigures() map[string]map[string][]float64 {
	return map[string]map[string][]float64{
		stores.GoMemdb: {
			"W1.ns": {20e3}, "W2x1.ns": {25e3}, "W3.ns": {2e3}, "W4.ns": {4e3},
			"W5wf.ns": {60e3}, "W5p1.ns": {2e3}, "W3.allocs": {7}, "W4.allocs": {20},
			"W8s1.p50.ns": {30e3}, "W8s100.p50.ns": {30e3},
		},
		stores.LivedbMemory: {
			"W1.ns": {26e3}, "W2x1.ns": {49e3}, "W3.ns": {6e3}, "W4.ns": {12e3},
			"W5wf.ns": {180e3}, "W5p1.ns": {6e3}, "W3.allocs": {21}, "W4.allocs": {60},
			"W8s1.p50.ns": {90e3}, "W8s100.p50.ns": {90e3},
		},
		stores.LivedbMemoryTyped: {
			"W1.ns": {27e3}, "W2x1.ns": {51e3}, "W3.ns": {3e3}, "W4.ns": {6e3},
			"W5wf.ns": {90e3}, "W5p1.ns": {3e3}, "W3.allocs": {10.5}, "W4.allocs": {30},
			"W8s1.p50.ns": {45e3}, "W8s100.p50.ns": {45e3},
		},
	}
}

// section returns the part of a markdown report from the heading to the
// next one.
func section(t *testing.T, md, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(md, "## "+heading+"\n")
	if !ok {
		t.Fatalf("no section %q in the report:\n%s", heading, md)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// rowOf returns the table row of a section whose first cell starts with
// label.
func rowOf(t *testing.T, sec, label string) []string {
	t.Helper()
	for _, line := range strings.Split(sec, "\n") {
		if strings.HasPrefix(line, "| "+label) {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row %q in:\n%s", label, sec)
	return nil
}

// column returns the index of a store's column in a section's table.
func column(t *testing.T, sec, store string) int {
	t.Helper()
	for i, c := range rowOf(t, sec, "workload") {
		if c == store {
			return i
		}
	}
	t.Fatalf("no column %q in:\n%s", store, sec)
	return 0
}

func TestReport_Markdown_TypedColumnWithMemdbRatio(t *testing.T) {
	md := testReport(memoryFigures()).markdown()

	time := section(t, md, "Time per operation")
	col := column(t, time, stores.LivedbMemoryTyped)
	for label, want := range map[string]string{
		"W3 point get by ID":            "3.0 µs (1.50× memdb)",
		"W4 compound equality, 10 rows": "6.0 µs (1.50× memdb)",
		"W5 a workflow's 100 rows":      "90.0 µs (1.50× memdb)",
		"W1 bulk load, per document":    "27.0 µs (1.35× memdb)",
		"W2 insert, 1 writer":           "51.0 µs (2.04× memdb)",
	} {
		if got := rowOf(t, time, label)[col]; got != want {
			t.Errorf("time table, %s, %s: %q, want %q", label, stores.LivedbMemoryTyped, got, want)
		}
	}
	if got, want := rowOf(t, time, "W3 point get by ID")[column(t, time, stores.LivedbMemory)], "6.0 µs (3.00× memdb)"; got != want {
		t.Errorf("time table, W3, %s: %q, want %q", stores.LivedbMemory, got, want)
	}

	allocs := section(t, md, "Allocations")
	if got, want := rowOf(t, allocs, "W4 compound equality, 10 rows: allocs/op")[column(t, allocs, stores.LivedbMemoryTyped)], "30 (1.50× memdb)"; got != want {
		t.Errorf("allocation table, W4, %s: %q, want %q", stores.LivedbMemoryTyped, got, want)
	}

	w8 := section(t, md, "W8: subscriptions")
	if got, want := rowOf(t, w8, "100 subscriptions: write call → subscriber has the new result, p50")[column(t, w8, stores.LivedbMemoryTyped)], "45.0 µs (1.50× memdb)"; got != want {
		t.Errorf("W8 table, 100 subscriptions, %s: %q, want %q", stores.LivedbMemoryTyped, got, want)
	}
}

// TestReport_Targets19_BothAPIsOnTheirOwnLines: each memory figure is
// given once per read API, with that API's ratio; the targets are judged
// on the typed API (the reads that do not pay for copies), and the map
// API's lines and the pages at depth k of the range are reported beside
// them, not among them.
func TestReport_Targets19_BothAPIsOnTheirOwnLines(t *testing.T) {
	md := testReport(memoryFigures()).markdown()
	targets := section(t, md, "Targets of issue 19")
	beside := section(t, md, "Reported beside the targets")
	if i := strings.Index(targets, "### Reported beside the targets"); i >= 0 {
		targets = targets[:i] // the targets' own table
	}
	for _, c := range []struct {
		sec                string
		target, ratio, met string
	}{
		{targets, "memory backend W3 within 2× go-memdb (typed API", "1.50×", "yes"},
		{targets, "memory backend W4 within 2× go-memdb (typed API", "1.50×", "yes"},
		{targets, "memory backend W5 (a workflow's 100 rows in pages of 20) within 2× go-memdb (typed API", "1.50×", "yes"},
		{targets, "memory backend W8 (100 subscriptions, p50) within 2× go-memdb (typed API", "1.50×", "yes"},
		{beside, "memory backend W3 ÷ go-memdb (map API", "3.00×", "**no**"},
		{beside, "memory backend W8 (1 subscription, p50) ÷ go-memdb (map API", "3.00×", "**no**"},
		{beside, "memory backend W5 page 1 of the range ÷ go-memdb (map API", "3.00×", "**no**"},
		{beside, "memory backend W5 page 1 of the range ÷ go-memdb (typed API", "1.50×", "yes"},
	} {
		row := rowOf(t, c.sec, c.target)
		if row[1] != c.ratio || row[2] != c.met {
			t.Errorf("%s…: %q, %q; want %q, %q", c.target, row[1], row[2], c.ratio, c.met)
		}
	}
	for _, not := range []string{"(map API", "page 1 of the range"} {
		if strings.Contains(targets, not) {
			t.Errorf("the targets' table has a line with %q:\n%s", not, targets)
		}
	}
}

// TestReport_Targets19_NoMemoryStoresNoReportedSection: a run without
// the memory stores has no memory lines, so no section for them.
func TestReport_Targets19_NoMemoryStoresNoReportedSection(t *testing.T) {
	figs := memoryFigures()
	delete(figs, stores.LivedbMemory)
	delete(figs, stores.LivedbMemoryTyped)
	md := testReport(figs).markdown()
	if strings.Contains(md, "Reported beside the targets") {
		t.Errorf("a report without livedb's memory stores has a section for their lines:\n%s", section(t, md, "Targets of issue 19"))
	}
}

// TestReport_Targets19_OpenFlatOverLivedbsSizes: the flat-open target
// compares livedb's largest and smallest W7 sizes, not the smallest of
// any store (bolthold opens only 5k documents), which livedb has no
// figure for.
func TestReport_Targets19_OpenFlatOverLivedbsSizes(t *testing.T) {
	figs := memoryFigures()
	figs[stores.LivedbBolt] = map[string][]float64{
		"W7n100000.ns": {3e6}, "W7n1000000.ns": {3.3e6}, "W7n100000.cpu.ns": {3e6}, "W7n1000000.cpu.ns": {4.2e6},
	}
	figs[stores.Bolthold] = map[string][]float64{"W7n5000.ns": {8e6}}
	sec := section(t, testReport(figs).markdown(), "Targets of issue 19")
	for _, c := range []struct{ what, ratio, met string }{{"CPU time", "1.40×", "**no**"}, {"wall time", "1.10×", "yes"}} {
		row := rowOf(t, sec, "W7 open flat: 1M vs 100k docs within 1.2× ("+c.what+")")
		if row[1] != c.ratio || row[2] != c.met {
			t.Errorf("flat open (%s): %q, %q; want %q, %q", c.what, row[1], row[2], c.ratio, c.met)
		}
	}
}

// TestReport_Targets19_EightWritersAgainstTheIssuesFigure: the 8-writer
// target is the issue's own figure (5×), not an earlier run's ratio, which
// is shown for information: 12.5× here passes although the earlier report
// (testdata) had a higher one, and 4.5× fails.
func TestReport_Targets19_EightWritersAgainstTheIssuesFigure(t *testing.T) {
	path := filepath.Join("testdata", "report-2026-12-07.md")
	before, err := readBefore(path)
	if err != nil {
		t.Fatal(err)
	}
	rb, ok1 := before.get(stores.RawBolt, "W2x8.ns")
	lb, ok2 := before.get(stores.LivedbBolt, "W2x8.ns")
	if !ok1 || !ok2 || rb/lb <= 12.5 {
		t.Fatalf("%s: W2x8 raw %v (%v), livedb %v (%v); the test needs an earlier ratio above 12.5×", path, rb, ok1, lb, ok2)
	}
	for _, c := range []struct {
		livedb float64
		ratio  string
		met    string
	}{{100e3 / 12.5, "12.50×", "yes"}, {100e3 / 4.5, "4.50×", "**no**"}} {
		figs := memoryFigures()
		figs[stores.RawBolt] = map[string][]float64{"W2x8.ns": {100e3}}
		figs[stores.LivedbBolt] = map[string][]float64{"W2x8.ns": {c.livedb}}
		r := testReport(figs)
		r.before, r.cfg.beforePath = before, path
		sec := section(t, r.markdown(), "Targets of issue 19")
		row := rowOf(t, sec, fmt.Sprintf("W2 8 writers: throughput ÷ raw bbolt's ≥ 5× (when issue 19 was filed: about 4–5×); the earlier run: %.2f×", rb/lb))
		if row[1] != c.ratio || row[2] != c.met {
			t.Errorf("8 writers at %s: %q, %q; want %q, %q", c.ratio, row[1], row[2], c.ratio, c.met)
		}
	}
}

// TestReport_BeforeAfter_OldReportWithoutTypedColumn compares a run that
// has the typed column with a report made before it existed: the typed
// store's rows have no "before", the other stores' rows keep theirs.
func TestReport_BeforeAfter_OldReportWithoutTypedColumn(t *testing.T) {
	path := filepath.Join("testdata", "report-2026-12-07.md")
	before, err := readBefore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before[stores.LivedbMemoryTyped]; ok {
		t.Fatalf("%s has a %s column; the test needs a report without it", path, stores.LivedbMemoryTyped)
	}
	r := testReport(memoryFigures())
	r.before, r.cfg.beforePath = before, path
	sec := section(t, r.markdown(), "Before and after")

	rows := map[string][]string{}
	for _, line := range strings.Split(sec, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 7 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[cells[0]+" / "+cells[1]] = cells
	}
	typed := rows["W3 point get by ID / "+stores.LivedbMemoryTyped]
	if typed == nil {
		t.Fatalf("no W3 row of %s in:\n%s", stores.LivedbMemoryTyped, sec)
	}
	if want := []string{"—", "3.0 µs", "—", "—", "1.50× memdb"}; fmt.Sprint(typed[2:]) != fmt.Sprint(want) {
		t.Errorf("W3 of %s: %q, want %q", stores.LivedbMemoryTyped, typed[2:], want)
	}
	// The old report's W3 of livedb-memory was 3.8 µs, go-memdb's 2.0 µs.
	mem := rows["W3 point get by ID / "+stores.LivedbMemory]
	if want := []string{"3.8 µs", "6.0 µs", "1.58×", "1.90× memdb", "3.00× memdb"}; mem == nil || fmt.Sprint(mem[2:]) != fmt.Sprint(want) {
		t.Errorf("W3 of %s: %q, want %q", stores.LivedbMemory, mem, want)
	}
	// Its writes (through Table[T] too) are new in this run as well.
	if w1 := rows["W1 bulk load, per document / "+stores.LivedbMemoryTyped]; w1 == nil || w1[2] != "—" {
		t.Errorf("W1 of %s: %q, want a row with no earlier figure in:\n%s", stores.LivedbMemoryTyped, w1, sec)
	}
}

// TestResult_Pooled: W8's latencies in the report are percentiles over
// the commits of every process, not a median of the processes' own.
func TestResult_Pooled(t *testing.T) {
	r := testReport(map[string]map[string][]float64{stores.LivedbMemory: {}})
	res := r.results[stores.LivedbMemory]
	// Three processes: one fast (10 µs), two slow (100 µs); their own
	// p50s are 10, 100, 100 µs, whose median is 100 µs. Over all
	// commits, 4 of 9 are fast and the slowest is 200 µs.
	for _, p := range [][]float64{{10e3, 10e3, 10e3}, {100e3, 100e3, 200e3}, {100e3, 10e3, 100e3}} {
		res.add(workload.Metrics{"W8s1.p50.ns": workload.Percentile(p, 50)})
		res.pool(workload.Samples{"W8s1.lat": p, "W8s1.commit": p, "W8s1.after": {1, 2, 3}})
	}
	for key, want := range map[string]float64{
		"W8s1.p50.ns": 100e3, "W8s1.p99.ns": 200e3, "W8s1.commit.ns": 100e3, "W8s1.after.ns": 2,
	} {
		if got, ok := r.median(stores.LivedbMemory, key); !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v", key, got, ok, want)
		}
	}
	// Two more fast commits, six of eleven: the pooled p50 is now fast,
	// while the processes' own p50s (10, 100, 100 µs) have a slow median.
	res.pool(workload.Samples{"W8s1.lat": {10e3, 10e3}})
	if got, _ := r.median(stores.LivedbMemory, "W8s1.p50.ns"); got != 10e3 {
		t.Errorf("pooled p50 of 6 fast and 5 slow commits = %v, want 10 µs", got)
	}
	if _, ok := r.median(stores.LivedbMemory, "W8s100.p50.ns"); ok {
		t.Error("a figure without samples or rounds was found")
	}
	// Late writers: "after" ≤ 0, 0 of the 9 commits so far, then 2 of 12.
	if x, ok := res.lateWriters(1); !ok || x != 0 {
		t.Errorf("late writers = %v (found %v), want 0", x, ok)
	}
	res.pool(workload.Samples{"W8s1.after": {-1, 0, 5}})
	if x, _ := res.lateWriters(1); x != 2.0/12 {
		t.Errorf("late writers = %v, want 2/12", x)
	}
	if !strings.Contains(r.markdown(), "| 1 subscription: share of commits whose writer returned after its subscriber had the result | 17% |") {
		t.Error("the report has no share of late writers of 17%")
	}
}

// TestConfig_MoreW8 runs the extra W8 processes of a round with a fake
// child: w8procs−1 per watchable store, of which only W8's figures and
// samples are kept.
func TestConfig_MoreW8(t *testing.T) {
	c := &config{n: 1000, boltholdN: 1000, w8procs: 3}
	r := testReport(map[string]map[string][]float64{
		stores.LivedbMemory: {"W1.ns": {1}},
		stores.Buntdb:       {"W1.ns": {1}},
	})
	kinds := []stores.Kind{mustLookup(t, stores.LivedbMemory), mustLookup(t, stores.Buntdb)}
	calls := map[string]int{}
	run := func(round int, k stores.Kind, group string, extra ...string) (childOutput, error) {
		calls[k.Name]++
		if group != "load" || !strings.Contains(strings.Join(extra, " "), "-watch") {
			t.Errorf("child %s %v, want a load child with -watch", group, extra)
		}
		return childOutput{
			Metrics: workload.Metrics{"W1.ns": 2, "W8s1.p50.ns": 7},
			Samples: workload.Samples{"W8s1.lat": {7, 7}},
		}, nil
	}
	if err := c.moreW8(r, kinds, 1, run); err != nil {
		t.Fatal(err)
	}
	if calls[stores.LivedbMemory] != 2 || calls[stores.Buntdb] != 0 {
		t.Errorf("children run: %v, want 2 of %s and none of %s", calls, stores.LivedbMemory, stores.Buntdb)
	}
	res := r.results[stores.LivedbMemory]
	if got := res.rounds["W1.ns"]; len(got) != 1 {
		t.Errorf("W1.ns over the rounds: %v, want only the round's own", got)
	}
	if got := res.rounds["W8s1.p50.ns"]; len(got) != 2 {
		t.Errorf("W8s1.p50.ns over the processes: %v, want one per extra process", got)
	}
	if got := res.samples["W8s1.lat"]; len(got) != 4 {
		t.Errorf("pooled W8s1.lat: %v, want both processes' two commits", got)
	}
}

func mustLookup(t *testing.T, name string) stores.Kind {
	t.Helper()
	k, err := stores.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestReport_Markdown_ReadBackAsBefore: a report with the typed column
// and pooled W8 figures serves as the "before" of a later run, its
// figures read back as written.
func TestReport_Markdown_ReadBackAsBefore(t *testing.T) {
	r := testReport(memoryFigures())
	res := r.results[stores.LivedbMemoryTyped]
	res.pool(workload.Samples{"W8s1.lat": {40e3, 50e3, 60e3}})
	path := filepath.Join(t.TempDir(), "results.md")
	if err := os.WriteFile(path, []byte(r.markdown()), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := readBefore(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		store, key string
		want       float64
	}{
		{stores.LivedbMemoryTyped, "W3.ns", 3e3},
		{stores.LivedbMemoryTyped, "W1.ns", 27e3}, // in "Every figure", though not in the tables
		{stores.LivedbMemoryTyped, "W8s1.p50.ns", 50e3},
		{stores.LivedbMemory, "W4.allocs", 60},
	} {
		if got, ok := before.get(c.store, c.key); !ok || got != c.want {
			t.Errorf("%s %s read back as %v (found %v), want %v", c.store, c.key, got, ok, c.want)
		}
	}
}
