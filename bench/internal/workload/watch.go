package workload

import (
	"fmt"
	"runtime"
	"slices"
	"time"
)

type observation struct {
	n  int
	at time.Time
}

// Samples are the latencies of every measured W8 commit of one process,
// in nanoseconds, by name: "W8s<subs>.lat" (write call → subscriber has
// the result), ".commit" (write call → writer returns) and ".after"
// (writer returns → subscriber has the result), in commit order. A driver
// that runs W8 in several processes pools them, so that its percentiles
// are over every commit rather than a median of per-process percentiles.
type Samples map[string][]float64

// RunWatch runs W8 for each subscription count: subscription i watches the
// running sessions of workflow i mod W; subscription 0 (on workflow 0) is
// the one whose latency is measured. It may run after RunLoad on the same
// store: W2's inserts add running sessions to workflow 0, so the expected
// results are taken from the store first. Each "inside" commit moves a running
// session of workflow 0 to completed or back, so the result of every
// subscription on workflow 0 changes; each "outside" commit rewrites the
// output of a completed session of workflow 0, which changes no watched
// result (and no watched index interval). commitsFor gives the number of
// commits of each kind for a subscription count. It returns the metrics
// of this process (percentiles of its commits) and every commit's
// latencies.
func RunWatch(st Store, w Watchable, ds *Dataset, ids []string, counts []int, commitsFor func(subs int) int) (Metrics, Samples, error) {
	m, samples := Metrics{}, Samples{}
	nw := len(ds.Workflows)
	target := ids[ds.RunningIndex(0, 0)]
	quiet := ids[ds.CompletedIndex(0, 0)]
	base, err := st.Running(ds.Workflows[0])
	if err != nil {
		return nil, nil, err
	}
	for _, subs := range counts {
		obs := make(chan observation, 4096)
		var stops []func()
		stopAll := func() {
			for _, s := range stops {
				s()
			}
		}
		for i := range subs {
			var on func(int)
			if i == 0 {
				on = func(n int) {
					select {
					case obs <- observation{n, time.Now()}:
					default:
					}
				}
			}
			stop, err := w.Watch(ds.Workflows[i%nw], on)
			if err != nil {
				stopAll()
				return nil, nil, fmt.Errorf("W8 %d subscriptions: watch %d: %w", subs, i, err)
			}
			stops = append(stops, stop)
		}
		if _, err := waitFor(obs, base, time.Time{}); err != nil {
			stopAll()
			return nil, nil, fmt.Errorf("W8 %d subscriptions: first result: %w", subs, err)
		}
		settle(w)
		// Collect what the setup left behind (the first run of every
		// subscription) before the measured commits, as measure does
		// before W2–W6. Without it, whether the collection that the
		// setup's allocations trigger overlaps the ~200 measured commits
		// is a matter of timing: its marking (over 100 ms on the 240 MB
		// heap of 100k documents, on 2 cores) slowed every commit it
		// overlapped several-fold, and a process's p50 sat at one of two
		// levels from run to run.
		runtime.GC()
		commits := (commitsFor(subs) + 1) / 2 * 2 // even: the target ends running
		var lat, commitLat, after []float64
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		gcs := ms.NumGC
		before := w.Reruns()
		for c := range commits {
			status, want := StatusCompleted, base-1
			if c%2 == 1 {
				status, want = StatusRunning, base
			}
			t0 := time.Now()
			if err := st.SetStatus(target, status); err != nil {
				stopAll()
				return nil, nil, fmt.Errorf("W8 %d subscriptions: inside commit %d: %w", subs, c, err)
			}
			t1 := time.Now()
			o, err := waitFor(obs, want, t0)
			if err != nil {
				stopAll()
				return nil, nil, fmt.Errorf("W8 %d subscriptions: commit %d: %w", subs, c, err)
			}
			lat = append(lat, float64(o.Sub(t0).Nanoseconds()))
			commitLat = append(commitLat, float64(t1.Sub(t0).Nanoseconds()))
			after = append(after, float64(o.Sub(t1).Nanoseconds()))
		}
		runtime.ReadMemStats(&ms)
		gcs = ms.NumGC - gcs
		settle(w)
		inside := w.Reruns() - before
		before = w.Reruns()
		for c := range commits {
			if err := st.SetOutput(quiet, fmt.Sprintf("output %d", c)); err != nil {
				stopAll()
				return nil, nil, fmt.Errorf("W8 %d subscriptions: outside commit %d: %w", subs, c, err)
			}
		}
		settle(w)
		outside := w.Reruns() - before
		stopAll()

		p := fmt.Sprintf("W8s%d", subs)
		m[p+".p50.ns"] = Percentile(lat, 50)
		m[p+".p99.ns"] = Percentile(lat, 99)
		m[p+".commit.ns"] = Percentile(commitLat, 50)
		m[p+".after.ns"] = Percentile(after, 50)
		m[p+".inside"] = float64(inside) / float64(commits)
		m[p+".outside"] = float64(outside) / float64(commits)
		m[p+".expected"] = float64((subs + nw - 1) / nw)
		m[p+".commits"] = float64(commits)
		m[p+".gcs"] = float64(gcs) // GC cycles completed during the inside commits
		samples[p+".lat"], samples[p+".commit"], samples[p+".after"] = lat, commitLat, after
	}
	return m, samples, nil
}

// waitFor reads observations until one reports n running sessions and was
// made after t0, and returns its time.
func waitFor(obs chan observation, n int, t0 time.Time) (time.Time, error) {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case o := <-obs:
			if o.n == n && !o.at.Before(t0) {
				return o.at, nil
			}
		case <-timeout:
			return time.Time{}, fmt.Errorf("no result with %d running sessions within 30s", n)
		}
	}
}

// settle waits until the re-run count stops moving (100 ms without a
// change, at most 60 s).
func settle(w Watchable) {
	deadline := time.Now().Add(60 * time.Second)
	last := w.Reruns()
	still := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		if r := w.Reruns(); r != last {
			last, still = r, time.Now()
		} else if time.Since(still) >= 100*time.Millisecond {
			return
		}
	}
}

// Percentile returns the p-th percentile (nearest rank) of xs.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
