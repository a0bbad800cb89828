package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/livedb-go/livedb/bench/internal/stores"
)

type report struct {
	cfg                *config
	started, finished  time.Time
	loadStart, loadEnd string
	order              []string
	results            map[string]*result
	before             figures // medians of an earlier report (-before), or nil
}

// median returns the median of a store's figure over the rounds; for a
// W8 latency, its percentile over the commits of every W8 process (see
// result.pooled).
func (r *report) median(store, key string) (float64, bool) {
	res := r.results[store]
	if res == nil {
		return 0, false
	}
	if x, ok := res.pooled(key); ok {
		return x, true
	}
	xs := res.rounds[key]
	if len(xs) == 0 {
		return 0, false
	}
	return medianOf(xs), true
}

// medianOf returns the median of xs, which is not empty.
func medianOf(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type unit int

const (
	unitNS unit = iota
	unitBytes
	unitCount
)

func format(x float64, u unit) string {
	switch u {
	case unitBytes:
		switch {
		case x >= 1<<30:
			return fmt.Sprintf("%.2f GiB", x/(1<<30))
		case x >= 1<<20:
			return fmt.Sprintf("%.1f MiB", x/(1<<20))
		case x >= 1<<10:
			return fmt.Sprintf("%.1f KiB", x/(1<<10))
		}
		return fmt.Sprintf("%.0f B", x)
	case unitCount:
		if x == math.Trunc(x) || x >= 100 {
			return fmt.Sprintf("%.0f", x)
		}
		return fmt.Sprintf("%.2f", x)
	}
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2f s", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2f ms", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f µs", x/1e3)
	}
	return fmt.Sprintf("%.0f ns", x)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	r := a / b
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

type row struct {
	key, label string
	u          unit
}

func (r *report) mainRows() []row {
	n := r.cfg.n
	rows := []row{
		{"W1.total.ns", fmt.Sprintf("W1 bulk load of %s docs, tx of 1,000 (total)", count(n)), unitNS},
		{"W1.ns", "W1 bulk load, per document", unitNS},
		{"W2x1.ns", "W2 insert, 1 writer (per op)", unitNS},
		{"W2x8.ns", "W2 insert, 8 writers (wall per op)", unitNS},
		{"W2x8batch.ns", "W2 insert, 8 writers, bbolt `DB.Batch` (wall per op)", unitNS},
		{"W3.ns", "W3 point get by ID", unitNS},
		{"W4.ns", "W4 compound equality, 10 rows", unitNS},
		{"W5wf.ns", "W5 a workflow's 100 rows in pages of 20 (5 queries)", unitNS},
	}
	for _, k := range r.cfg.opsFor("").PageDepths {
		rows = append(rows, row{fmt.Sprintf("W5p%d.ns", k), fmt.Sprintf("W5 page %s of the %s-row range (20 rows)", count(k), count(n)), unitNS})
	}
	rows = append(rows, row{"W6.ns", "W6 durable status move (read-modify-write)", unitNS})
	for _, size := range r.w7Sizes() {
		rows = append(rows, row{fmt.Sprintf("W7n%d.ns", size), fmt.Sprintf("W7 open + first indexed query, %s docs", count(size)), unitNS})
	}
	for _, size := range r.w7Sizes() {
		rows = append(rows, row{fmt.Sprintf("W7n%d.cpu.ns", size), fmt.Sprintf("W7 open + first indexed query, %s docs: CPU time (user + system)", count(size)), unitNS})
	}
	for _, size := range r.w7Sizes() {
		rows = append(rows, row{fmt.Sprintf("W7n%d.size", size), fmt.Sprintf("W7 size on disk, %s docs", count(size)), unitBytes})
	}
	return rows
}

// w7Sizes returns every W7 size that has a figure.
func (r *report) w7Sizes() []int {
	seen := map[int]bool{}
	for _, res := range r.results {
		for k := range res.rounds {
			if s, ok := strings.CutPrefix(k, "W7n"); ok {
				if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(s, ".ns"), ".size")); err == nil {
					seen[n] = true
				}
			}
		}
	}
	var out []int
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func subsLabel(n int) string {
	if n == 1 {
		return "1 subscription"
	}
	return count(n) + " subscriptions"
}

func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// cell formats a store's median with its ratios: to raw bbolt, and for
// livedb memory also to go-memdb.
func (r *report) cell(store, key string, u unit, raw, memdb string) string {
	x, ok := r.median(store, key)
	if !ok {
		return "—"
	}
	s := format(x, u)
	if store == stores.Bolthold && r.cfg.sizeFor(store) != r.cfg.n && !strings.HasPrefix(key, "W7") {
		s += " †"
	}
	var rs []string
	if raw != "" && store != raw {
		if b, ok := r.median(raw, key); ok {
			rs = append(rs, ratio(x, b)+" raw")
		}
	}
	if memdb != "" && comparedToMemdb(store) {
		if b, ok := r.median(memdb, key); ok {
			rs = append(rs, ratio(x, b)+" memdb")
		}
	}
	if len(rs) > 0 {
		s += " (" + strings.Join(rs, ", ") + ")"
	}
	return s
}

func (r *report) table(b *strings.Builder, rows []row, cols []string, raw, memdb string, header map[string]string) {
	b.WriteString("| workload |")
	for _, c := range cols {
		h := c
		if header[c] != "" {
			h = header[c]
		}
		fmt.Fprintf(b, " %s |", h)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, rw := range rows {
		any := false
		for _, c := range cols {
			if _, ok := r.median(c, rw.key); ok {
				any = true
			}
		}
		if !any {
			continue
		}
		fmt.Fprintf(b, "| %s |", rw.label)
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", r.cell(c, rw.key, rw.u, raw, memdb))
		}
		b.WriteString("\n")
	}
}

func (r *report) markdown() string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "# livedb benchmark results\n\n")
	fmt.Fprintf(&b, "Generated by `%s` on %s (%s).\n\n", commandLine(), r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second))
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s; `nproc` = %d, GOMAXPROCS = %d\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "- Memory (`free -h`):\n\n```\n%s```\n\n", freeH())
	fmt.Fprintf(&b, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) at start: %s; at end: %s. fsync-bound figures (W2, W6, W8) vary between rounds on a virtual disk even when the machine is otherwise idle; the min and max are at the end.\n\n", r.loadStart, r.loadEnd)
	b.WriteString("## Setup\n\n")
	fmt.Fprintf(&b, "- %d rounds; every figure is the median over the rounds (W7: over rounds × %d opens, each open a fresh process, the stores taking turns open by open in an order that reverses at every turn; W8's latencies: percentiles over the commits of rounds × %d processes). Each store runs in its own process per round and workload group; stores are interleaved within a round.\n", c.rounds, c.opens, c.w8procs)
	fmt.Fprintf(&b, "- %s agent sessions (%s workflows × 100, 10 running each), about 430 bytes of JSON each; indexes by_workflow, by_status, by_workflow_and_status.\n", count(c.n), count(c.n/100))
	fmt.Fprintf(&b, "- Durability matched: fsync on every commit for every durable store (bbolt `NoSync=false`, buntdb `SyncPolicy=Always`).\n")
	if stores.LivedbAPI == "typed" {
		b.WriteString("- livedb through its typed API (`-api typed`): documents written from a struct (`Table[T].Insert`, `Patch`) and read into one (`Table[T].Get`, `TypedQuery[T]`), as go-memdb returns its stored structs.\n")
	} else {
		b.WriteString("- livedb through its map API (`livedb.Doc`, each result a private copy); `-api typed` writes and reads structs with `Table[T]`.\n")
	}
	if slices.Contains(r.order, stores.LivedbMemoryTyped) {
		b.WriteString("- `livedb-memory-typed` is livedb in memory through its typed API whatever `-api` says: its writes (W1, W2, W6, W8's commits) go through `Table[T].Insert` and `Patch`, and its reads (W3, W4, W5, W8's subscriptions) through `Table[T].Get` and `TypedQuery[T]`, each document decoded into a struct that shares nothing mutable with the store; it runs the same workloads as `livedb-memory` in its own processes.\n")
	}
	fmt.Fprintf(&b, "- † bolthold ran with %s documents and %.0f%% of the operations: its index keeps one list of IDs per index value, rewritten on every insert, so its load is super-linear (minutes for 100k).\n", count(c.sizeFor(stores.Bolthold)), 100*c.boltOps)
	if len(r.w7Sizes()) > 0 {
		b.WriteString("- W7 gives two figures of one window, from before the open (after a forced GC in the fresh child) to the first query's answer: the wall time, and the CPU time (user + system, `getrusage`) the process used in it. On a machine that other processes load, the wall time also counts waits for a core, which fall on whichever open was unlucky; the CPU time does not, so issue 19's open targets are checked on it, with the wall-time ratios beside them.\n")
	}
	b.WriteString("- Cells: median (ratio to raw bbolt; for livedb memory, through either API, also to go-memdb). Lower is better; a ratio below 1 is faster than the reference.\n\n")

	cols := r.order
	b.WriteString("## Time per operation\n\n")
	r.table(&b, r.mainRows(), cols, stores.RawBolt, stores.GoMemdb, nil)
	b.WriteString("\n")

	b.WriteString("## Allocations\n\n")
	var arows []row
	for _, rw := range []struct{ key, label string }{
		{"W1", "W1 per document"}, {"W2x1", "W2 insert, 1 writer"}, {"W3", "W3 point get"},
		{"W4", "W4 compound equality, 10 rows"}, {"W5wf", "W5 100 rows in 5 pages"},
		{"W5p1", "W5 page 1 of the range"}, {"W6", "W6 status move"},
	} {
		arows = append(arows, row{rw.key + ".allocs", rw.label + ": allocs/op", unitCount})
		arows = append(arows, row{rw.key + ".bytes", rw.label + ": bytes/op", unitBytes})
	}
	r.table(&b, arows, cols, stores.RawBolt, stores.GoMemdb, nil)
	b.WriteString("\n")

	r.watchSection(&b)
	r.beforeAfter(&b)
	r.targets19(&b)
	r.targets(&b)
	r.spread(&b)
	return b.String()
}

var watchStores = []string{stores.LivedbBolt, stores.LivedbMemory, stores.LivedbMemoryTyped, stores.RawBolt, stores.GoMemdb}

// watchRows returns W8's rows.
func (r *report) watchRows() []row {
	var rows []row
	for _, s := range r.cfg.subs {
		p := fmt.Sprintf("W8s%d", s)
		subs := subsLabel(s)
		rows = append(rows,
			row{p + ".p50.ns", fmt.Sprintf("%s: write call → subscriber has the new result, p50", subs), unitNS},
			row{p + ".p99.ns", fmt.Sprintf("%s: same, p99", subs), unitNS},
			row{p + ".commit.ns", fmt.Sprintf("%s: write call → writer returns (durable), p50", subs), unitNS},
			row{p + ".after.ns", fmt.Sprintf("%s: writer returns → subscriber has the result, p50", subs), unitNS},
			row{p + ".inside", fmt.Sprintf("%s: re-runs per commit inside the read sets (subscriptions on the workflow: %s)", subs, count(max(1, (s+r.cfg.n/100-1)/(r.cfg.n/100)))), unitCount},
			row{p + ".outside", fmt.Sprintf("%s: re-runs per commit outside every read set", subs), unitCount},
		)
	}
	return rows
}

func (r *report) watchSection(b *strings.Builder) {
	rows := r.watchRows()
	any := false
	for _, s := range watchStores {
		if res := r.results[s]; res != nil && len(res.rounds["W8s"+strconv.Itoa(r.cfg.subs[0])+".p50.ns"]) > 0 {
			any = true
		}
	}
	if !any || len(r.cfg.subs) == 0 {
		return
	}
	b.WriteString("## W8: subscriptions\n\n")
	b.WriteString("Subscription i watches the running sessions of workflow i mod W (the W4 query); subscription 0's latency is measured. An inside commit moves a running session of workflow 0 to completed or back (every subscription on workflow 0 gets a new result); an outside commit rewrites the output of a completed session of workflow 0 (no watched result or index interval changes). ")
	b.WriteString("raw bbolt has no subscriptions: its column is a hand-rolled broadcast (every commit wakes every watcher, which re-runs its query), the reference of issue 7. go-memdb watchers follow its WatchSet pattern (one goroutine each, re-run when the radix node of the query's prefix changes). bolthold and buntdb have no subscriptions or change notification and are not in this table. ")
	fmt.Fprintf(b, "Commits per kind: %d (raw bbolt: fewer with many watchers, max(4, min(%d, 20000/subs))). W8 runs in the same process as W1–W6, after them, on the same data. ", r.cfg.commits, r.cfg.commits)
	r.w8ProcsText(b)
	b.WriteString("\n\n")
	var cols []string
	for _, s := range watchStores {
		if slices.Contains(r.order, s) {
			cols = append(cols, s)
		}
	}
	r.table(b, rows, cols, stores.RawBolt, stores.GoMemdb, map[string]string{stores.RawBolt: "raw bbolt (hand-rolled broadcast)"})
	b.WriteString("\n")
	r.perProcess(b, cols)
}

// targets checks the targets of issue 7 against the medians.
func (r *report) targets(b *strings.Builder) {
	type target struct {
		name   string
		value  func() (float64, bool)
		limit  float64
		higher bool // the value must be at least limit (else at most)
		show   func(float64) string
	}
	rel := func(a, ka, b, kb string) func() (float64, bool) {
		return func() (float64, bool) {
			x, ok1 := r.median(a, ka)
			y, ok2 := r.median(b, kb)
			if !ok1 || !ok2 || y == 0 {
				return 0, false
			}
			return x / y, true
		}
	}
	abs := func(s, k string) func() (float64, bool) { return func() (float64, bool) { return r.median(s, k) } }
	times := func(x float64) string { return fmt.Sprintf("%.2f×", x) }
	L, M, R, G := stores.LivedbBolt, stores.LivedbMemory, stores.RawBolt, stores.GoMemdb
	ts := []target{
		{"W3 point get on bbolt ≤ raw bbolt", rel(L, "W3.ns", R, "W3.ns"), 1, false, times},
		{"W4 compound equality on bbolt ≤ raw bbolt", rel(L, "W4.ns", R, "W4.ns"), 1, false, times},
		{"W5 100 rows in pages on bbolt ≤ raw bbolt", rel(L, "W5wf.ns", R, "W5wf.ns"), 1, false, times},
		{"W5 page 1 of the range on bbolt ≤ raw bbolt", rel(L, "W5p1.ns", R, "W5p1.ns"), 1, false, times},
		{"W1 bulk load on bbolt within 1.3× raw bbolt", rel(L, "W1.ns", R, "W1.ns"), 1.3, false, times},
		{"W6 status move on bbolt within 1.3× raw bbolt", rel(L, "W6.ns", R, "W6.ns"), 1.3, false, times},
		{"W2 1 writer within 1.3× raw bbolt", rel(L, "W2x1.ns", R, "W2x1.ns"), 1.3, false, times},
		{"W2 8 writers: throughput ≥ 4× raw bbolt (one Update per insert)", rel(R, "W2x8.ns", L, "W2x8.ns"), 4, true, times},
	}
	depths := r.cfg.opsFor("").PageDepths
	if len(depths) > 1 {
		last := depths[len(depths)-1]
		for _, s := range []string{L, M} {
			ts = append(ts, target{fmt.Sprintf("W5 page %d vs page 1 within 1.2× (%s)", last, s), rel(s, fmt.Sprintf("W5p%d.ns", last), s, "W5p1.ns"), 1.2, false, times})
		}
	}
	if sizes := r.cfg.w7; len(sizes) > 1 {
		lo, hi := slices.Min(sizes), slices.Max(sizes)
		ts = append(ts, target{fmt.Sprintf("W7 open flat: %s vs %s docs within 2×", count(hi), count(lo)), rel(L, fmt.Sprintf("W7n%d.ns", hi), L, fmt.Sprintf("W7n%d.ns", lo)), 2, false, times})
	}
	for _, n := range r.cfg.w7 {
		ts = append(ts, target{fmt.Sprintf("W7 open of %s docs under 1 ms", count(n)), abs(L, fmt.Sprintf("W7n%d.ns", n)), 1e6, false, func(x float64) string { return format(x, unitNS) }})
	}
	for _, s := range r.cfg.subs {
		p := fmt.Sprintf("W8s%d", s)
		ts = append(ts,
			target{fmt.Sprintf("W8 %s: subscriber has the result ≤ 50 µs after the writer returns (bbolt)", subsLabel(s)), abs(L, p+".after.ns"), 50e3, false, func(x float64) string { return format(x, unitNS) }},
			target{fmt.Sprintf("W8 %s: zero re-runs for writes outside the read sets (bbolt)", subsLabel(s)), abs(L, p+".outside"), 0, false, func(x float64) string { return format(x, unitCount) }},
			target{fmt.Sprintf("W8 %s: memory backend latency ≤ 2× go-memdb (p50)", subsLabel(s)), rel(M, p+".p50.ns", G, p+".p50.ns"), 2, false, times},
		)
	}
	for _, k := range []struct{ key, name string }{{"W1.ns", "W1"}, {"W3.ns", "W3"}, {"W4.ns", "W4"}} {
		ts = append(ts, target{"memory backend " + k.name + " within 2× go-memdb", rel(M, k.key, G, k.key), 2, false, times})
	}
	for _, rw := range r.mainRows() {
		if !strings.HasSuffix(rw.key, ".ns") || strings.HasPrefix(rw.key, "W1.total") || strings.HasPrefix(rw.key, "W7") {
			continue
		}
		if _, ok := r.median(stores.Bolthold, rw.key); !ok {
			continue
		}
		ts = append(ts, target{"≥ 10× faster than bolthold†: " + rw.label, rel(stores.Bolthold, rw.key, L, rw.key), 10, true, times})
	}

	b.WriteString("## Targets of issue 7\n\nChecked against the medians above (so against noisy absolute figures where a target is absolute). † bolthold ran with fewer documents than livedb, which favours bolthold.\n\n| target | measured | met |\n|---|---:|:---:|\n")
	for _, t := range ts {
		x, ok := t.value()
		if !ok {
			continue
		}
		met := x <= t.limit
		if t.higher {
			met = x >= t.limit
		}
		mark := "yes"
		if !met {
			mark = "**no**"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", t.name, t.show(x), mark)
	}
	b.WriteString("\n")
}

// spread lists the minimum and maximum of each figure over the rounds.
func (r *report) spread(b *strings.Builder) {
	b.WriteString("<details><summary>Every figure: median [min – max] over the rounds</summary>\n\n| store | figure | median | min | max |\n|---|---|---:|---:|---:|\n")
	for _, s := range r.order {
		res := r.results[s]
		keys := make([]string, 0, len(res.rounds))
		for k := range res.rounds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			xs := res.rounds[k]
			u := unitCount
			switch {
			case strings.HasSuffix(k, ".ns"):
				u = unitNS
			case strings.HasSuffix(k, ".size"), strings.HasSuffix(k, ".bytes"):
				u = unitBytes
			}
			med, _ := r.median(s, k)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", s, k, format(med, u), format(slices.Min(xs), u), format(slices.Max(xs), u))
		}
	}
	b.WriteString("\n</details>\n")
}

func commandLine() string {
	return strings.TrimSpace("go run ./cmd/bench " + strings.Join(os.Args[1:], " "))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func freeH() string {
	out, err := exec.Command("free", "-h").Output()
	if err != nil {
		return "unknown\n"
	}
	return string(out)
}
