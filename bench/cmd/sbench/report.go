package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/livedb-go/livedb/bench/internal/machine"
)

// report collects the figures of a run, every one of them once per round.
type report struct {
	c           *config
	started     time.Time
	loadStart   string
	server      [][2]string
	pgTestFsync []string
	figs        map[string][]float64
}

func newReport(c *config) *report {
	return &report{c: c, started: time.Now(), loadStart: machine.LoadAvg(), figs: map[string][]float64{}}
}

func (r *report) add(key string, x float64) { r.figs[key] = append(r.figs[key], x) }

// med returns the median of a figure ("" for none), with its min and
// max over the rounds; unit scales and names it.
func (r *report) med(key string, unit string) string {
	xs := r.figs[key]
	if len(xs) == 0 {
		return "–"
	}
	s := slices.Sorted(slices.Values(xs))
	f := func(x float64) string {
		switch unit {
		case "ms":
			return fmt.Sprintf("%.2f", x/1e6)
		case "s":
			return fmt.Sprintf("%.2f", x/1e9)
		case "/s", "n":
			return fmt.Sprintf("%.0f", x)
		}
		return fmt.Sprintf("%.1f", x)
	}
	out := f(median(s))
	if len(s) > 1 {
		out += fmt.Sprintf(" (%s–%s)", f(s[0]), f(s[len(s)-1]))
	}
	return out
}

func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *report) get(key string) (float64, bool) {
	xs := r.figs[key]
	if len(xs) == 0 {
		return 0, false
	}
	return median(slices.Sorted(slices.Values(xs))), true
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	host, _ := os.Hostname()
	w("# livedb on a shared PostgreSQL (issue 16)\n\n")
	w("- run: %s, %s; %d rounds; every figure is the median over the rounds (min–max)\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), time.Since(r.started).Round(time.Second), r.c.rounds)
	w("- machine: %s, %d CPUs, %s %s/%s; load average (1, 5, 15 min) %s at the start, %s at the end\n",
		host, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, r.loadStart, machine.LoadAvg())
	for _, kv := range r.server {
		w("- PostgreSQL %s: %s\n", kv[0], kv[1])
	}
	if _, ok := r.get("fsync.insert.on"); ok {
		on, _ := r.get("fsync.insert.on")
		off, _ := r.get("fsync.insert.off")
		w("\n## The cost of an fsync here\n\n")
		w("A bare `INSERT` in its own transaction over the unix socket, 300 in a row, median: %s ms with `synchronous_commit = on` (the commit waits for the WAL flush), %s ms with `off`; the flush costs about %.2f ms.\n\n",
			r.med("fsync.insert.on", "ms"), r.med("fsync.insert.off", "ms"), (on-off)/1e6)
		if len(r.pgTestFsync) > 0 {
			w("`pg_test_fsync -s 1` in the cluster's directory (one 8 kB write):\n\n")
			for _, l := range r.pgTestFsync {
				w("    %s\n", l)
			}
		}
	}
	if len(r.c.procs) > 0 && r.has("write.") {
		w("\n## Mutations per second (%d writers per process, %d single-document inserts each, %d documents loaded before)\n\n", r.c.writers, r.c.muts, r.c.preload)
		w("| store | processes | mutations/s | call p50 ms | call p99 ms | mutations per group | ms per group commit | largest group | CPU ms per mutation (livedb processes) |\n|---|---|---|---|---|---|---|---|---|\n")
		rows := []struct {
			name string
			what string
			ps   []int
		}{
			{"pg-memory", "PostgreSQL, copy in memory", r.c.procs},
			{"pg-bbolt", "PostgreSQL, copy in bbolt", r.c.procs},
			{"bbolt", "bbolt file, one process (fsync)", []int{1}},
		}
		for _, row := range rows {
			for _, p := range row.ps {
				k := fmt.Sprintf("write.%s.p%d", row.name, p)
				w("| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", row.what, p, r.med(k+".tput", "/s"), r.med(k+".p50", "ms"), r.med(k+".p99", "ms"),
					r.med(k+".groupsize", ""), r.med(k+".groupns", "ms"), r.med(k+".maxgroup", ""), r.med(k+".cpu", "ms"))
			}
		}
		if x, ok := r.get("write.pg-memory.p3.tput"); ok {
			w("\nTarget: 3 processes × 8 writers ≥ 1,000 mutations/s: %.0f (memory copy), %s.\n", x, verdict(x >= 1000))
		}
	}
	if r.has("latency.") {
		w("\n## Commit → subscriber (%d commits, each moving a running session of workflow 0; %d documents)\n\n", (r.c.commits+1)/2*2, r.c.latN)
		w("Time from the call of the mutation in the writer to the moment the subscription delivers the new result; and from the moment the writer's call returned (the commit acknowledged) to that moment.\n\n")
		w("| setup | call → result p50 ms | p99 ms | ack → result p50 ms | p99 ms | the writer's call alone, p50 ms |\n|---|---|---|---|---|---|\n")
		for _, row := range [][2]string{
			{"pg-memory", "PostgreSQL, subscriber in another process (memory copies)"},
			{"bbolt", "bbolt file, subscriber in the writer's process"},
		} {
			k := "latency." + row[0]
			w("| %s | %s | %s | %s | %s | %s |\n", row[1], r.med(k+".p50", "ms"), r.med(k+".p99", "ms"), r.med(k+".after.p50", "ms"), r.med(k+".after.p99", "ms"), r.med(k+".commit.p50", "ms"))
		}
		if x, ok := r.get("latency.pg-memory.p50"); ok {
			w("\nTarget: cross-process p50 < 5 ms: %.2f ms, %s.\n", x/1e6, verdict(x < 5e6))
		}
	}
	if b, ok := r.get("catchup.state.bytes"); ok {
		r.figs["catchup.state.mb"] = []float64{b / 1e6}
	}
	if r.has("catchup.") {
		w("\n## A process joins a database of %d documents\n\n", r.c.catchN)
		w("Time in the joining process from before `Open` to the answer of its first indexed query (W4); process start-up not counted. Loading the documents into PostgreSQL from one process (transactions of 1,000) took %s s; the shared state a joining process reads holds %s rows, %s MB with its index.\n\n", r.med("catchup.load", "s"), r.med("catchup.state.rows", "n"), r.med("catchup.state.mb", ""))
		w("| joining process | ms |\n|---|---|\n")
		w("| PostgreSQL, copy in memory | %s |\n", r.med("catchup.pg-memory", "ms"))
		w("| PostgreSQL, new bbolt copy | %s |\n", r.med("catchup.pg-bbolt-new", "ms"))
		w("| PostgreSQL, the same bbolt copy again (up to date) | %s |\n", r.med("catchup.pg-bbolt-again", "ms"))
		w("| bbolt file, one process (W7) | %s |\n", r.med("catchup.bbolt", "ms"))
		mem, ok1 := r.get("catchup.pg-memory")
		bb, ok2 := r.get("catchup.pg-bbolt-new")
		if ok1 && ok2 {
			w("\nTarget: ready in < 5 s: %.2f s (memory copy), %s; %.2f s (new bbolt copy), %s.\n", mem/1e9, verdict(mem < 5e9), bb/1e9, verdict(bb < 5e9))
		}
	}
	return b.String()
}

func (r *report) has(prefix string) bool {
	for k := range r.figs {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
