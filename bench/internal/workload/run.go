package workload

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Metrics are the figures one child process measured, by name. Times are
// in nanoseconds, sizes in bytes.
type Metrics map[string]float64

// Ops sets how many operations each workload runs. Scale multiplies them
// all (for a quick run or a small store).
type Ops struct {
	Insert1    int   // W2, one writer
	Insert8    int   // W2, eight writers (total)
	Get        int   // W3
	Running    int   // W4
	Walks      int   // W5: workflows read in pages
	PageReads  int   // W5: reads of page k, for each k
	PageDepths []int // W5: the k of "page k" (1-based)
	Moves      int   // W6
	// Only, when not empty, names the workloads to run after W1 (for
	// profiling one of them): "W2", "W3", "W4", "W5", "W6".
	Only []string
}

func (o Ops) runs(w string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, w) }

// DefaultOps are the operation counts of a default run. The page reads
// of W5 are 2,000 at each depth: at 200, a depth's figure on the memory
// stores was a window of about 1 ms, whose rounds spread over up to 3×
// in one run (go-memdb's page at depth 100: 1.9 to 5.6 µs), and whose
// medians in two runs of one day differed by up to 1.65× (go-memdb's page
// at depth 1,000: 3.3 and 2.0 µs). W2's single writer commits 2,000 times:
// each commit waits for the disk's flush, whose time on a virtual disk
// drifts from one process to the next; at 500, livedb's rounds spread
// over 152–249 µs and buntdb's over 165–271 µs in one run, whose medians
// put livedb at 1.01× buntdb, where 16 processes alternated one after
// the other measured 0.60×.
func DefaultOps() Ops {
	return Ops{
		Insert1: 2000, Insert8: 1000, Get: 20000, Running: 5000, Walks: 500,
		PageReads: 2000, PageDepths: []int{1, 100, 1000, 4000}, Moves: 500,
	}
}

// Scale returns o with every count multiplied by f (at least 1 each).
func (o Ops) Scale(f float64) Ops {
	s := func(n int) int { return max(1, int(float64(n)*f)) }
	o.Insert1, o.Insert8, o.Get, o.Running = s(o.Insert1), max(8, s(o.Insert8)), s(o.Get), s(o.Running)
	o.Walks, o.PageReads, o.Moves = s(o.Walks), s(o.PageReads), s(o.Moves)
	return o
}

// Writers is the number of concurrent writers of the second W2 variant.
const Writers = 8

// BulkTx is the number of documents per transaction of W1.
const BulkTx = 1000

// measure runs fn, which performs ops operations, after a GC, and records
// the time per operation and the allocations per operation under name.
func measure(m Metrics, name string, ops int, fn func() error) error {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	m[name+".ns"] = float64(d.Nanoseconds()) / float64(ops)
	m[name+".allocs"] = float64(after.Mallocs-before.Mallocs) / float64(ops)
	m[name+".bytes"] = float64(after.TotalAlloc-before.TotalAlloc) / float64(ops)
	return nil
}

// Load bulk-loads ds in transactions of BulkTx documents (W1) and returns
// the IDs in dataset order.
func Load(st Store, ds *Dataset) ([]string, error) {
	ids := make([]string, 0, len(ds.Sessions))
	for i := 0; i < len(ds.Sessions); i += BulkTx {
		got, err := st.InsertBatch(ds.Sessions[i:min(i+BulkTx, len(ds.Sessions))])
		if err != nil {
			return nil, fmt.Errorf("bulk load at %d: %w", i, err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// RunLoad runs W1 to W6 on a fresh store, in this order: W1 load, then
// the reads W3, W4, W5 on exactly the loaded data, then the writes W6 and
// W2. It returns the metrics and the IDs of the loaded documents.
func RunLoad(st Store, ds *Dataset, ops Ops) (Metrics, []string, error) {
	m := Metrics{}
	n := len(ds.Sessions)
	var ids []string
	err := measure(m, "W1", n, func() (err error) {
		ids, err = Load(st, ds)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	m["W1.total.ns"] = m["W1.ns"] * float64(n)
	r := rand.New(rand.NewPCG(1, 2))
	nw := len(ds.Workflows)
	randomWorkflows := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = ds.Workflows[r.IntN(nw)]
		}
		return out
	}

	steps := []struct {
		name string
		run  func() error
	}{
		{"W3", func() error { // point get by ID
			pick := make([]int, ops.Get)
			for i := range pick {
				pick[i] = r.IntN(n)
			}
			return measure(m, "W3", ops.Get, func() error {
				for _, i := range pick {
					wf, err := st.Get(ids[i])
					if err != nil {
						return err
					}
					if wf != ds.Sessions[i].WorkflowID {
						return fmt.Errorf("get %d: workflowId %q, want %q", i, wf, ds.Sessions[i].WorkflowID)
					}
				}
				return nil
			})
		}},
		{"W4", func() error { // compound-index equality returning 10 documents
			wfs := randomWorkflows(ops.Running)
			return measure(m, "W4", ops.Running, func() error {
				for _, wf := range wfs {
					got, err := st.Running(wf)
					if err != nil {
						return err
					}
					if err := checkCount("running "+wf, got, RunningPerWorkflow); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		{"W5", func() error {
			// A workflow's 100 sessions in pages of 20 (five transactions).
			walk := randomWorkflows(ops.Walks)
			if err := measure(m, "W5wf", ops.Walks, func() error {
				for _, wf := range walk {
					var cur Cursor
					total := 0
					for range SessionsPerWorkflow / PageSize {
						got, next, err := st.PageWorkflow(wf, cur, PageSize)
						if err != nil {
							return err
						}
						if err := checkCount("page of "+wf, got, PageSize); err != nil {
							return err
						}
						total += got
						cur = next
					}
					if err := checkCount("workflow "+wf, total, SessionsPerWorkflow); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			// Page k of the whole by_workflow range.
			return pageDepths(m, st, n, ops)
		}},
		{"W6", func() error {
			// Durable read-modify-write moving a document between index
			// entries (completed <-> failed, never running, so the running
			// sessions stay as loaded).
			moves := make([]int, ops.Moves)
			for i := range moves {
				moves[i] = ds.CompletedIndex(r.IntN(nw), r.IntN(SessionsPerWorkflow-RunningPerWorkflow))
			}
			statusOf := map[int]string{}
			return measure(m, "W6", ops.Moves, func() error {
				for _, i := range moves {
					next := StatusFailed
					if statusOf[i] == StatusFailed {
						next = StatusCompleted
					}
					statusOf[i] = next
					if err := st.SetStatus(ids[i], next); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		{"W2", func() error {
			// Durable single-document inserts, one writer then eight.
			extra := Generate(ops.Insert1 + ops.Insert8).Sessions
			if err := measure(m, "W2x1", ops.Insert1, func() error {
				for _, s := range extra[:ops.Insert1] {
					if _, err := st.Insert(s); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			rest := extra[ops.Insert1:]
			if err := measure(m, "W2x8", len(rest), func() error {
				return parallel(rest, st.Insert)
			}); err != nil {
				return err
			}
			if bi, ok := st.(BatchInserter); ok {
				more := Generate(ops.Insert8).Sessions
				return measure(m, "W2x8batch", len(more), func() error {
					return parallel(more, bi.InsertGrouped)
				})
			}
			return nil
		}},
	}
	for _, s := range steps {
		if !ops.runs(s.name) {
			continue
		}
		if err := s.run(); err != nil {
			return nil, nil, err
		}
	}
	return m, ids, nil
}

// parallel inserts docs with Writers goroutines.
func parallel(docs []Session, insert func(Session) (string, error)) error {
	var wg sync.WaitGroup
	errs := make([]error, Writers)
	for w := range Writers {
		wg.Go(func() {
			for i := w; i < len(docs); i += Writers {
				if _, err := insert(docs[i]); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pageDepths measures page k of the whole range for each k in ops.
func pageDepths(m Metrics, st Store, n int, ops Ops) error {
	depths := slices.Sorted(slices.Values(ops.PageDepths))
	var cur Cursor
	page := 1 // the page that cur starts
	for _, k := range depths {
		if k*PageSize > n {
			continue // the range has no page k
		}
		for page < k {
			got, next, err := st.PageAll(cur, PageSize)
			if err != nil {
				return err
			}
			if err := checkCount(fmt.Sprintf("page %d", page), got, PageSize); err != nil {
				return err
			}
			cur, page = next, page+1
		}
		at := cur
		if err := measure(m, fmt.Sprintf("W5p%d", k), ops.PageReads, func() error {
			for range ops.PageReads {
				got, _, err := st.PageAll(at, PageSize)
				if err != nil {
					return err
				}
				if err := checkCount(fmt.Sprintf("page %d", k), got, PageSize); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// RunOpen measures W7 on an existing database: the time from nothing open
// to the answer of the first indexed query (open is a function that opens
// the store at its path), and checks the answer. W7.ns is the wall time;
// W7.cpu.ns is the CPU time (user + system) the process used in the same
// window, which waits for a core on a loaded machine do not inflate.
func RunOpen(open func() (Store, error), wf string) (Metrics, error) {
	m := Metrics{}
	runtime.GC()
	cpu0 := processCPU()
	start := time.Now()
	st, err := open()
	if err != nil {
		return nil, err
	}
	got, err := st.Running(wf)
	d := time.Since(start)
	cpu := processCPU() - cpu0
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := checkCount("first query", got, RunningPerWorkflow); err != nil {
		st.Close()
		return nil, err
	}
	m["W7.ns"] = float64(d.Nanoseconds())
	m["W7.cpu.ns"] = float64(cpu.Nanoseconds())
	return m, st.Close()
}

// processCPU returns the CPU time, user and system, that the process has
// used so far (getrusage), or 0 where it cannot be read.
func processCPU() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
