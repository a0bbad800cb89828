package main

// This file compares a run with an earlier report (-before FILE): it reads
// the medians of the earlier report's "Every figure" table back, and adds a
// before/after section and the targets of issue 19 (performance, round 3),
// some of which are relative to the earlier run.

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/livedb-go/livedb/bench/internal/stores"
)

// figures holds the medians of an earlier report: store → figure → median.
type figures map[string]map[string]float64

// readBefore reads the "Every figure" table of a report written by this
// command.
func readBefore(path string) (figures, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := figures{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	in := false
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if strings.HasPrefix(s, "| store | figure | median |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(s, "|---") {
			continue
		}
		if !strings.HasPrefix(s, "|") {
			if len(out) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(s, "|"), "|")
		if len(cells) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 cells in a figure row, have %d", path, line, len(cells))
		}
		store, key := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		x, err := parseFigure(strings.TrimSpace(cells[2]))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s %s: %w", path, line, store, key, err)
		}
		if out[store] == nil {
			out[store] = map[string]float64{}
		}
		out[store][key] = x
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no \"Every figure\" table", path)
	}
	return out, nil
}

// parseFigure reads back a figure written by format.
func parseFigure(s string) (float64, error) {
	num, suffix, _ := strings.Cut(s, " ")
	x, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("figure %q: %w", s, err)
	}
	scale := map[string]float64{
		"": 1, "ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9,
		"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
	}
	m, ok := scale[suffix]
	if !ok {
		return 0, fmt.Errorf("figure %q: unknown unit %q", s, suffix)
	}
	return x * m, nil
}

func (f figures) get(store, key string) (float64, bool) {
	x, ok := f[store][key]
	return x, ok
}

// beforeAfter writes, for livedb's figures, the earlier run's median, this
// run's, and each one's ratio to its reference store in the same run (raw
// bbolt for livedb on bbolt, go-memdb for livedb in memory): the ratios are
// what can be compared between two runs on a noisy machine.
func (r *report) beforeAfter(b *strings.Builder) {
	if r.before == nil {
		return
	}
	fmt.Fprintf(b, "## Before and after\n\nThe earlier run is `%s` (the report this one replaces, from an earlier commit). Absolute times move with the machine's load; compare the ratios, each measured side by side within its own run.\n\n", r.cfg.beforePath)
	b.WriteString("| workload | store | before | after | after ÷ before | ÷ reference before | ÷ reference after |\n|---|---|---:|---:|---:|---:|---:|\n")
	rows := append(r.mainRows(), r.watchRows()...)
	for _, rw := range rows {
		for _, s := range []string{stores.LivedbBolt, stores.LivedbMemory, stores.LivedbMemoryTyped} {
			after, ok1 := r.median(s, rw.key)
			before, ok2 := r.before.get(s, rw.key)
			if !ok1 && !ok2 {
				continue
			}
			ref := stores.RawBolt
			if comparedToMemdb(s) {
				ref = stores.GoMemdb
			}
			cell := func(x float64, ok bool) string {
				if !ok {
					return "—"
				}
				return format(x, rw.u)
			}
			change := "—"
			if ok1 && ok2 && before != 0 {
				change = ratio(after, before)
			}
			refBefore, refAfter := "—", "—"
			if x, ok := r.before.get(ref, rw.key); ok && ok2 && x != 0 {
				refBefore = ratio(before, x) + " " + shortName(ref)
			}
			if x, ok := r.median(ref, rw.key); ok && ok1 && x != 0 {
				refAfter = ratio(after, x) + " " + shortName(ref)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", rw.label, s, cell(before, ok2), cell(after, ok1), change, refBefore, refAfter)
		}
	}
	b.WriteString("\n")
}

func shortName(store string) string {
	switch store {
	case stores.RawBolt:
		return "raw"
	case stores.GoMemdb:
		return "memdb"
	}
	return store
}

// targets19 checks the targets of issue 19 against the medians above.
func (r *report) targets19(b *strings.Builder) {
	L, M, R, G, B := stores.LivedbBolt, stores.LivedbMemory, stores.RawBolt, stores.GoMemdb, stores.Buntdb
	type target = target19
	rel := func(a, ka, c, kc string) (float64, bool) {
		x, ok1 := r.median(a, ka)
		y, ok2 := r.median(c, kc)
		if !ok1 || !ok2 || y == 0 {
			return 0, false
		}
		return x / y, true
	}
	var ts []target
	add := func(name string, x float64, ok bool, limit float64, higher bool) {
		ts = append(ts, target{name: name, x: x, ok: ok, limit: limit, higher: higher, show: fmt.Sprintf("%.2f×", x)})
	}
	x, ok := rel(L, "W2x1.ns", B, "W2x1.ns")
	add("W2 insert, 1 writer, on bbolt ≤ buntdb (`SyncPolicy=Always`)", x, ok, 1, false)
	x, ok = rel(L, "W6.ns", B, "W6.ns")
	add("W6 durable status move on bbolt ≤ buntdb (`SyncPolicy=Always`)", x, ok, 1, false)
	if x, ok := rel(R, "W2x8.ns", L, "W2x8.ns"); ok {
		// Issue 19 asks for 8 writers "at least as far ahead of raw bbolt
		// as today", a day on which group commit gave about 4–5× raw
		// bbolt's throughput: the limit is the top of that range. An
		// earlier run's ratio is shown beside it, not used as the limit:
		// these runs are fsync-bound, and the ratio of one run moves by
		// more than a tenth from run to run on this machine's virtual disk.
		name := "W2 8 writers: throughput ÷ raw bbolt's ≥ 5× (when issue 19 was filed: about 4–5×)"
		if r.before != nil {
			rb, ok1 := r.before.get(R, "W2x8.ns")
			lb, ok2 := r.before.get(L, "W2x8.ns")
			if ok1 && ok2 && lb != 0 {
				name += fmt.Sprintf("; the earlier run: %.2f×", rb/lb)
			}
		}
		add(name, x, true, 5, true)
	}
	// The memory backend against go-memdb on W3, W4, W5 and W8, once per
	// read API in this run (livedb-memory, livedb-memory-typed), each on
	// its own line. Issue 19 asks for these within 2× of go-memdb and, to
	// get there, for "a way not to pay for copies" for readers that do not
	// mutate: that way is Table[T], and the targets are judged on it.
	// Through livedb.Doc every row is a private map the caller may change,
	// by contract; its lines are reported beside the targets (reported),
	// with the same 2× bar, and do not decide them. So are the pages at
	// depth k of the whole range, issue 7's cursor-depth workload: issue
	// 19's W5 is a workflow's 100 rows in pages of 20.
	var reported []target
	memory := func(name, key string, depth bool) {
		for _, m := range []string{M, stores.LivedbMemoryTyped} {
			x, ok := rel(m, key, G, key)
			t := target{x: x, ok: ok, limit: 2, show: fmt.Sprintf("%.2f×", x)}
			if depth || !typedReads(m) {
				t.name = "memory backend " + name + " ÷ go-memdb (" + apiName(m) + ")"
				reported = append(reported, t)
				continue
			}
			t.name = "memory backend " + name + " within 2× go-memdb (" + apiName(m) + ")"
			ts = append(ts, t)
		}
	}
	memory("W3", "W3.ns", false)
	memory("W4", "W4.ns", false)
	memory("W5 (a workflow's 100 rows in pages of 20)", "W5wf.ns", false)
	for _, s := range r.cfg.subs {
		memory(fmt.Sprintf("W8 (%s, p50)", subsLabel(s)), fmt.Sprintf("W8s%d.p50.ns", s), false)
	}
	for _, k := range r.cfg.opsFor("").PageDepths {
		memory(fmt.Sprintf("W5 page %s of the range", count(k)), fmt.Sprintf("W5p%d.ns", k), true)
	}
	sizes := r.w7Sizes()
	for _, n := range sizes {
		x, ok := rel(L, fmt.Sprintf("W7n%d.size", n), R, fmt.Sprintf("W7n%d.size", n))
		add(fmt.Sprintf("size on disk, %s docs, ≤ 1.1× raw bbolt", count(n)), x, ok, 1.1, false)
	}
	x, ok = rel(L, "W1.ns", R, "W1.ns")
	add("W1 bulk load ≤ 1.2× raw bbolt", x, ok, 1.2, false)
	// W7 on CPU time (the wall time counts waits for a core on a loaded
	// machine), then on wall time; a run without the CPU figure (an older
	// report) has only the second.
	for _, f := range []struct{ suffix, what string }{{".cpu.ns", "CPU time"}, {".ns", "wall time"}} {
		for _, n := range sizes {
			k := fmt.Sprintf("W7n%d%s", n, f.suffix)
			x, ok := rel(L, k, R, k)
			add(fmt.Sprintf("W7 open + first query, %s docs, ≤ 1.2× raw bbolt (%s)", count(n), f.what), x, ok, 1.2, false)
		}
		// Flat over the sizes livedb opened: bolthold's smaller W7 size
		// (5k) is in sizes too, and a ratio to it was never found, which
		// left this row out of the report.
		var own []int
		for _, n := range sizes {
			if _, ok := r.median(L, fmt.Sprintf("W7n%d%s", n, f.suffix)); ok {
				own = append(own, n)
			}
		}
		if len(own) > 1 {
			lo, hi := slices.Min(own), slices.Max(own)
			x, ok := rel(L, fmt.Sprintf("W7n%d%s", hi, f.suffix), L, fmt.Sprintf("W7n%d%s", lo, f.suffix))
			add(fmt.Sprintf("W7 open flat: %s vs %s docs within 1.2× (%s)", count(hi), count(lo), f.what), x, ok, 1.2, false)
		}
	}
	for _, s := range r.cfg.subs {
		if s > 100 {
			continue
		}
		x, ok := r.median(L, fmt.Sprintf("W8s%d.after.ns", s))
		ts = append(ts, target{name: fmt.Sprintf("W8 %s on bbolt: subscriber has the result ≤ commit + 50 µs", subsLabel(s)), x: x, ok: ok, limit: 50e3, show: format(x, unitNS)})
	}

	b.WriteString("## Targets of issue 19\n\nChecked against the medians above; each ratio is measured side by side in this run. The memory backend's targets are judged on its reads through `Table[T]`, the way issue 19 asks for readers that do not mutate not to pay for copies (see the next section).\n\n| target | measured | met |\n|---|---:|:---:|\n")
	writeTargets(b, ts)
	if !slices.ContainsFunc(reported, func(t target19) bool { return t.ok }) {
		b.WriteString("\n")
		return // a run without the memory stores
	}
	b.WriteString("\n### Reported beside the targets\n\nThe same 2× bar, on reads that issue 19's targets do not cover: through `livedb.Doc` every row of a result is a map the caller may change, a private copy of the shared decoded document (two allocations and a copy of its slots per row, which `Table[T]` does not pay), and the pages at depth k of the whole by_workflow range are issue 7's cursor-depth workload (issue 19's W5 is a workflow's 100 rows in pages of 20).\n\n| figure | measured | within 2× |\n|---|---:|:---:|\n")
	writeTargets(b, reported)
	b.WriteString("\n")
}

// target19 is a line of issue 19's targets: x measured (ok when the run
// has it), to be at most limit, or at least when higher; show is x as
// printed.
type target19 struct {
	name   string
	x      float64
	ok     bool
	limit  float64
	higher bool
	show   string
}

// writeTargets writes the lines of ts that the run measured as table
// rows whose last column says whether each is within its limit: yes or
// **no**.
func writeTargets(b *strings.Builder, ts []target19) {
	for _, t := range ts {
		if !t.ok {
			continue
		}
		met := t.x <= t.limit
		if t.higher {
			met = t.x >= t.limit
		}
		mark := "yes"
		if !met {
			mark = "**no**"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", t.name, t.show, mark)
	}
}

// typedReads reports whether store reads (and writes) through Table[T]
// in this run.
func typedReads(store string) bool {
	return store == stores.LivedbMemoryTyped || stores.LivedbAPI == "typed"
}
