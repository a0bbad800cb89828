package main

// This file runs W8 in several processes per store and round (-w8-procs)
// and pools their commits.
//
// W8's latencies on the memory backends are bimodal from process to
// process: the same binary's p50 lands near 40 µs in some processes and
// near 70 µs in others, for as long as the process lives. A median of a
// few per-process p50s then jumps between the two modes from run to run.
// So every W8 process reports the latency of each of its commits, and the
// report's W8 percentiles are those of all commits of all processes
// (each process weighs the same: it runs the same number of commits),
// while the "Every figure" table keeps each process's own p50 (min and
// max over the processes), which shows the modes.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/livedb-go/livedb/bench/internal/stores"
	"github.com/livedb-go/livedb/bench/internal/workload"
)

// moreW8 runs the w8procs−1 W8 processes of a round after its load
// processes, interleaved over the stores. Each is a load process like the
// round's own (W1–W6 on a fresh store, then W8 on the same data), so that
// W8 starts from the same state in every process; only its W8 figures are
// kept, the W1–W6 figures being the round's.
func (c *config) moreW8(rep *report, kinds []stores.Kind, round int, run func(int, stores.Kind, string, ...string) (childOutput, error)) error {
	for i := 2; i <= c.w8procs; i++ {
		for _, k := range kinds {
			if !k.Watchable {
				continue
			}
			progress("round %d: %s W8 process %d of %d", round, k.Name, i, c.w8procs)
			// Round 0: no CPU profile (-profile takes round 1's load process).
			out, err := run(0, k, "load", "-n", strconv.Itoa(c.sizeFor(k.Name)), "-watch")
			if err != nil {
				return err
			}
			res := rep.results[k.Name]
			for key, x := range out.Metrics {
				if strings.HasPrefix(key, "W8") {
					res.rounds[key] = append(res.rounds[key], x)
				}
			}
			res.pool(out.Samples)
		}
	}
	return nil
}

// pool adds one process's W8 latencies to the store's.
func (r *result) pool(s workload.Samples) {
	if len(s) == 0 {
		return
	}
	if r.samples == nil {
		r.samples = workload.Samples{}
	}
	for k, xs := range s {
		r.samples[k] = append(r.samples[k], xs...)
	}
}

// pooledFigures maps the W8 figures a child reports per process to the
// pooled samples and percentile that replace them in the report.
var pooledFigures = []struct {
	suffix, samples string
	p               float64
}{
	{".p50.ns", ".lat", 50},
	{".p99.ns", ".lat", 99},
	{".commit.ns", ".commit", 50},
	{".after.ns", ".after", 50},
}

// pooled returns the percentile of a W8 latency figure ("W8s100.p50.ns")
// over the commits of every W8 process of the store, if it has samples.
func (r *result) pooled(key string) (float64, bool) {
	if r == nil || !strings.HasPrefix(key, "W8s") {
		return 0, false
	}
	for _, f := range pooledFigures {
		if p, ok := strings.CutSuffix(key, f.suffix); ok {
			xs := r.samples[p+f.samples]
			if len(xs) == 0 {
				return 0, false
			}
			return workload.Percentile(xs, f.p), true
		}
	}
	return 0, false
}

// w8ProcsText says how many processes W8 ran in and how its figures are
// taken from them.
func (r *report) w8ProcsText(b *strings.Builder) {
	n := r.cfg.rounds * r.cfg.w8procs
	if n == 1 {
		b.WriteString("It ran in one process per store.")
		return
	}
	fmt.Fprintf(b, "It ran in %d processes per store (%d per round: the round's W1–W6 process", n, r.cfg.w8procs)
	if r.cfg.w8procs > 1 {
		fmt.Fprintf(b, " and %d more like it, whose W1–W6 figures are not kept", r.cfg.w8procs-1)
	}
	b.WriteString("). Latencies are percentiles over the commits of all of them, each process running the same number: a median of a few per-process p50s moves with each process's scheduling and heap, the pooled percentiles much less. Each subscription count's measured commits start after a forced garbage collection, as W2–W6 do: the setup (every subscription's first run) allocates enough to start a collection, and when its marking (over 100 ms on this heap) overlapped the measured commits, they were several times slower and a process's p50 sat at one of two levels. The per-process p50s are in the next table.")
}

// perProcess writes, for each subscription count, the median, minimum
// and maximum over the W8 processes of each one's own p50 (write call →
// subscriber has the result): how far the processes disagree.
func (r *report) perProcess(b *strings.Builder, cols []string) {
	n := 0
	for _, c := range cols {
		if res := r.results[c]; res != nil {
			n = max(n, len(res.rounds[fmt.Sprintf("W8s%d.p50.ns", r.cfg.subs[0])]))
		}
	}
	if n < 2 {
		return
	}
	b.WriteString("Each W8 process's own p50 (write call → subscriber has the new result): median [min – max] over the processes (their number in parentheses); and the share of late writers over all their commits.\n\n| per process |")
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, s := range r.cfg.subs {
		fmt.Fprintf(b, "| %s: each process's p50 |", subsLabel(s))
		for _, c := range cols {
			xs := r.results[c].rounds[fmt.Sprintf("W8s%d.p50.ns", s)]
			if len(xs) == 0 {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(b, " %s [%s – %s] (%d) |", format(medianOf(xs), unitNS), format(slices.Min(xs), unitNS), format(slices.Max(xs), unitNS), len(xs))
		}
		b.WriteString("\n")
	}
	for _, s := range r.cfg.subs {
		fmt.Fprintf(b, "| %s: share of commits whose writer returned after its subscriber had the result |", subsLabel(s))
		for _, c := range cols {
			if x, ok := r.results[c].lateWriters(s); ok {
				fmt.Fprintf(b, " %.0f%% |", 100*x)
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\nA late writer is a commit whose writer returned no earlier than its subscriber had the new result: on livedb, the committer readies the writer and then the subscription manager, which runs next on the committer's processor, so unless another processor takes the writer at once it returns after the subscription has re-run and delivered.\n\n")
}

// lateWriters returns the share of W8 commits, pooled over the processes,
// after which the writer returned no earlier than its subscriber had the
// new result ("after" ≤ 0), with subs subscriptions.
func (r *result) lateWriters(subs int) (float64, bool) {
	if r == nil {
		return 0, false
	}
	xs := r.samples[fmt.Sprintf("W8s%d.after", subs)]
	if len(xs) == 0 {
		return 0, false
	}
	n := 0
	for _, x := range xs {
		if x <= 0 {
			n++
		}
	}
	return float64(n) / float64(len(xs)), true
}
