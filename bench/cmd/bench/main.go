// Command bench runs livedb's benchmark suite against its peers (issue 7)
// and writes a markdown report of medians and ratios.
//
//	cd bench && go run ./cmd/bench -out results.md
//
// The driver runs every store in its own process: it executes itself with
// -child and a store and workload group, several rounds, and takes the
// median of each figure. See README.md for the flags and the workloads.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livedb-go/livedb/bench/internal/machine"
	"github.com/livedb-go/livedb/bench/internal/stores"
	"github.com/livedb-go/livedb/bench/internal/workload"
)

type config struct {
	out        string
	rounds     int
	n          int
	boltholdN  int
	w7         []int
	subs       []int
	commits    int
	w8procs    int // W8 processes per watchable store and round
	opens      int
	storeNames []string
	groups     []string
	ops        float64
	boltOps    float64
	dir        string
	keep       bool
	profileDir string
	beforePath string // an earlier report to compare with (-before)

	// child mode
	child      string
	store      string
	cpuprofile string
	watch      bool
	only       string
}

func main() {
	var c config
	var w7, subs, storeList, groups string
	flag.StringVar(&c.out, "out", "results.md", "markdown report to write")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds; the report gives the median of each figure")
	flag.IntVar(&c.n, "n", 100_000, "documents loaded by W1 (and present for W2–W6, W8)")
	flag.IntVar(&c.boltholdN, "bolthold-n", 5_000, "documents for bolthold, whose load is super-linear")
	flag.StringVar(&w7, "w7", "100000,300000", "database sizes for W7 (open), comma-separated; 0 skips W7")
	flag.StringVar(&subs, "subs", "1,100,10000", "subscription counts for W8")
	flag.IntVar(&c.opens, "opens", 10, "W7: opens per round and size (each in a fresh process, the stores taking turns; once when an open takes over 1 s)")
	flag.IntVar(&c.commits, "commits", 200, "commits of each kind per subscription count in W8")
	flag.IntVar(&c.w8procs, "w8-procs", 2, "W8: processes per store and round (the round's W1–W6 process and w8-procs−1 more like it); W8's percentiles are over the commits of them all")
	flag.StringVar(&storeList, "stores", "", "stores to run, comma-separated (default all)")
	flag.StringVar(&groups, "groups", "load,open,watch", "workload groups: load (W1–W6), watch (W8, run after W1–W6 in the same process), open (W7)")
	flag.Float64Var(&c.ops, "ops", 1, "scale of the operation counts of W2–W6")
	flag.Float64Var(&c.boltOps, "bolthold-ops", 0.1, "scale of bolthold's operation counts (relative to -ops)")
	flag.StringVar(&c.dir, "dir", "", "work directory for the database files (default: a new temporary directory)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory")
	flag.StringVar(&c.beforePath, "before", "", "an earlier report of this command (e.g. the results.md being replaced): adds a before/after section")
	flag.StringVar(&c.profileDir, "profile", "", "write a CPU profile of every child of round 1 into this directory")
	flag.StringVar(&c.child, "child", "", "internal: run one workload group (load, build, open, watch) in this process")
	flag.StringVar(&c.store, "store", "", "store of a child run")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of this child run")
	flag.BoolVar(&c.watch, "watch", false, "child load: run W8 after W1–W6 on the same store")
	flag.StringVar(&c.only, "only", "", "child load: run only these workloads after W1 (W2,W3,W4,W5,W6), for profiling")
	flag.StringVar(&stores.LivedbAPI, "api", "map", "livedb's read API: map (livedb.Doc) or typed (Table[T], reads decoded into a struct)")
	flag.Parse()
	if stores.LivedbAPI != "map" && stores.LivedbAPI != "typed" {
		fatal(fmt.Errorf("-api is map or typed, not %q", stores.LivedbAPI))
	}
	if c.w8procs < 1 {
		fatal(fmt.Errorf("-w8-procs is at least 1, not %d", c.w8procs))
	}

	var err error
	if c.w7, err = ints(w7); err == nil {
		c.subs, err = ints(subs)
	}
	if err != nil {
		fatal(err)
	}
	c.storeNames = split(storeList)
	c.groups = split(groups)
	if c.child != "" {
		if err := runChild(&c); err != nil {
			fatal(err)
		}
		return
	}
	if err := drive(&c); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil {
			return nil, fmt.Errorf("bad number %q: %w", f, err)
		}
		if n > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// opsFor returns the operation counts for a store.
func (c *config) opsFor(store string) workload.Ops {
	f := c.ops
	if store == stores.Bolthold {
		f *= c.boltOps
	}
	o := workload.DefaultOps().Scale(f)
	o.Only = split(c.only)
	return o
}

// sizeFor returns the number of documents a store loads.
func (c *config) sizeFor(store string) int {
	if store == stores.Bolthold {
		return min(c.n, c.boltholdN)
	}
	return c.n
}

// commitsFor returns the W8 commit count of a store for a subscription
// count: the hand-rolled broadcast of raw bbolt re-runs every watcher on
// every commit, so it gets fewer commits when there are many watchers.
func (c *config) commitsFor(store string) func(subs int) int {
	return func(subs int) int {
		if store == stores.RawBolt {
			return max(4, min(c.commits, 20_000/subs))
		}
		return c.commits
	}
}

// runChild runs one workload group of one store and prints its metrics
// as JSON on stdout.
func runChild(c *config) error {
	kind, err := stores.Lookup(c.store)
	if err != nil {
		return err
	}
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	var m workload.Metrics
	var samples workload.Samples
	switch c.child {
	case "load":
		ds := workload.Generate(c.n)
		st, err := kind.Open(c.dir, false)
		if err != nil {
			return err
		}
		var ids []string
		if m, ids, err = workload.RunLoad(st, ds, c.opsFor(c.store)); err != nil {
			st.Close()
			return err
		}
		if w, ok := st.(workload.Watchable); ok && c.watch {
			wm, ws, err := workload.RunWatch(st, w, ds, ids, c.subs, c.commitsFor(c.store))
			if err != nil {
				st.Close()
				return err
			}
			maps.Copy(m, wm)
			samples = ws
		}
		if err := st.Close(); err != nil {
			return err
		}
		m["n"] = float64(len(ds.Sessions))
	case "build":
		ds := workload.Generate(c.n)
		st, err := kind.Open(c.dir, true)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := workload.Load(st, ds); err != nil {
			st.Close()
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
		m = workload.Metrics{"build.ns": float64(time.Since(start).Nanoseconds())}
	case "open":
		if kind.Reopen == nil {
			return fmt.Errorf("%s has no file to open", c.store)
		}
		wf := workload.WorkflowIDs(c.n)[0]
		if m, err = workload.RunOpen(func() (workload.Store, error) { return kind.Reopen(c.dir) }, wf); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(c.dir, kind.File)); err != nil {
			return err
		}
		size, err := dirSize(c.dir)
		if err != nil {
			return err
		}
		m["size"] = float64(size)
	case "watch":
		ds := workload.Generate(c.n)
		st, err := kind.Open(c.dir, false)
		if err != nil {
			return err
		}
		defer st.Close()
		w, ok := st.(workload.Watchable)
		if !ok {
			return fmt.Errorf("%s has no subscriptions", c.store)
		}
		ids, err := workload.Load(st, ds)
		if err != nil {
			return err
		}
		if m, samples, err = workload.RunWatch(st, w, ds, ids, c.subs, c.commitsFor(c.store)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown child group %q", c.child)
	}
	return json.NewEncoder(os.Stdout).Encode(childOutput{m, samples})
}

// childOutput is what a child prints: its figures, and W8's latency of
// every commit when it ran W8.
type childOutput struct {
	Metrics workload.Metrics `json:"metrics"`
	Samples workload.Samples `json:"samples,omitempty"`
}

// result is the metrics of one store over the rounds.
type result struct {
	rounds map[string][]float64
	// samples pools W8's per-commit latencies of every process of the
	// store (see pooled).
	samples workload.Samples
}

func (r *result) add(m workload.Metrics) {
	for k, x := range m {
		r.rounds[k] = append(r.rounds[k], x)
	}
}

// drive runs every child and writes the report.
func drive(c *config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "livedb-bench-"); err != nil {
			return err
		}
		if !c.keep {
			defer os.RemoveAll(c.dir)
		}
	}
	kinds := stores.All
	if len(c.storeNames) > 0 {
		kinds = nil
		for _, name := range c.storeNames {
			k, err := stores.Lookup(name)
			if err != nil {
				return err
			}
			kinds = append(kinds, k)
		}
	}
	if c.profileDir != "" {
		if err := os.MkdirAll(c.profileDir, 0o755); err != nil {
			return err
		}
	}
	rep := &report{cfg: c, started: time.Now(), loadStart: machine.LoadAvg(), results: map[string]*result{}}
	if c.beforePath != "" {
		before, err := readBefore(c.beforePath)
		if err != nil {
			return fmt.Errorf("-before: %w", err)
		}
		rep.before = before
	}
	for _, k := range kinds {
		rep.results[k.Name] = &result{rounds: map[string][]float64{}}
		rep.order = append(rep.order, k.Name)
	}
	run := func(round int, k stores.Kind, group string, extra ...string) (childOutput, error) {
		dir, err := os.MkdirTemp(c.dir, k.Name+"-"+group+"-")
		if err != nil {
			return childOutput{}, err
		}
		defer os.RemoveAll(dir)
		return c.exec(exe, round, k.Name, group, dir, extra...)
	}
	has := func(g string) bool { return slices.Contains(c.groups, g) }

	// W7 databases are built once, untimed, with fsync off.
	var dbs []built
	if has("open") {
		for _, k := range kinds {
			if !k.Durable {
				continue
			}
			sizes := c.w7
			if k.Name == stores.Bolthold {
				sizes = []int{c.sizeFor(k.Name)}
			}
			for _, n := range sizes {
				dir := filepath.Join(c.dir, fmt.Sprintf("w7-%s-%d", k.Name, n))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				progress("build %s with %d documents for W7", k.Name, n)
				out, err := c.exec(exe, 0, k.Name, "build", dir, "-n", strconv.Itoa(n))
				if err != nil {
					return err
				}
				rep.results[k.Name].add(workload.Metrics{fmt.Sprintf("build%d.ns", n): out.Metrics["build.ns"]})
				dbs = append(dbs, built{k, n, dir})
			}
		}
	}
	slices.SortStableFunc(dbs, func(a, b built) int { return a.n - b.n })
	for round := 1; round <= c.rounds; round++ {
		if has("load") || has("watch") { // W8 runs after W1–W6, on their data
			for _, k := range kinds {
				args := []string{"-n", strconv.Itoa(c.sizeFor(k.Name))}
				what := "W1–W6"
				if has("watch") && k.Watchable {
					args = append(args, "-watch")
					what += ", W8"
				}
				progress("round %d: %s %s", round, k.Name, what)
				out, err := run(round, k, "load", args...)
				if err != nil {
					return err
				}
				rep.results[k.Name].add(out.Metrics)
				rep.results[k.Name].pool(out.Samples)
			}
			if has("watch") {
				if err := c.moreW8(rep, kinds, round, run); err != nil {
					return err
				}
			}
		}
		// Each open is a fresh process; opens that take under a second are
		// repeated (c.opens times a round) to tame the noise. The stores
		// take turns open by open, in an order reversed at every turn
		// (A B B A A B …), so that none always opens first after the
		// load and watch processes of the round, or right after another
		// store's opens: what ran just before an open (a process exiting,
		// the page cache and dirty pages it leaves) falls on each alike.
		if err := c.openRound(exe, rep, dbs, round); err != nil {
			return err
		}
	}
	rep.finished = time.Now()
	rep.loadEnd = machine.LoadAvg()
	md := rep.markdown()
	if err := os.WriteFile(c.out, []byte(md), 0o644); err != nil {
		return err
	}
	progress("wrote %s (%s)", c.out, rep.finished.Sub(rep.started).Round(time.Second))
	return nil
}

// built is a W7 database: a store's file of n documents in dir.
type built struct {
	k   stores.Kind
	n   int
	dir string
}

// openRound runs a round of W7: c.opens fresh-process opens of each
// database, the databases taking turns in an order that reverses at every
// turn and from round to round (dbs is sorted by size, then store, so the
// stores of one size open side by side). A database whose open took over
// a second is not opened again in the round.
func (c *config) openRound(exe string, rep *report, dbs []built, round int) error {
	if len(dbs) == 0 {
		return nil
	}
	progress("round %d: W7, %d opens of each of %d databases, taking turns", round, c.opens, len(dbs))
	slow := make([]bool, len(dbs))
	for i := 0; i < c.opens; i++ {
		for _, j := range turnOrder(len(dbs), i, round) {
			b := dbs[j]
			if slow[j] {
				continue
			}
			out, err := c.exec(exe, round, b.k.Name, "open", b.dir, "-n", strconv.Itoa(b.n))
			if err != nil {
				return err
			}
			m := out.Metrics
			rep.results[b.k.Name].add(workload.Metrics{
				fmt.Sprintf("W7n%d.ns", b.n):     m["W7.ns"],
				fmt.Sprintf("W7n%d.cpu.ns", b.n): m["W7.cpu.ns"],
				fmt.Sprintf("W7n%d.size", b.n):   m["size"],
			})
			slow[j] = m["W7.ns"] > 1e9
		}
	}
	return nil
}

// turnOrder returns the order in which the n databases of W7 open at turn
// i (from 0) of round (from 1): build order and its reverse alternate from
// turn to turn, round 1 beginning in build order, round 2 in reverse, and
// so on, so that the first open after a round's load processes falls on
// the first database and the last in turn.
func turnOrder(n, i, round int) []int {
	order := make([]int, n)
	for j := range order {
		order[j] = j
		if (i+round)%2 == 0 {
			order[j] = n - 1 - j
		}
	}
	return order
}

// exec runs one child and returns what it printed.
func (c *config) exec(exe string, round int, store, group, dir string, extra ...string) (childOutput, error) {
	args := []string{"-child", group, "-store", store, "-dir", dir,
		"-ops", strconv.FormatFloat(c.ops, 'g', -1, 64),
		"-bolthold-ops", strconv.FormatFloat(c.boltOps, 'g', -1, 64),
		"-subs", joinInts(c.subs), "-commits", strconv.Itoa(c.commits), "-api", stores.LivedbAPI}
	if c.only != "" {
		args = append(args, "-only", c.only)
	}
	args = append(args, extra...)
	if c.profileDir != "" && round == 1 {
		args = append(args, "-cpuprofile", filepath.Join(c.profileDir, fmt.Sprintf("cpu-%s-%s.out", store, group)))
	}
	cmd := exec.Command(exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return childOutput{}, fmt.Errorf("%s %s: %w\n%s", store, group, err, stderr.String())
	}
	var out childOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return childOutput{}, fmt.Errorf("%s %s: bad output %q: %w", store, group, stdout.String(), err)
	}
	if out.Metrics == nil {
		return childOutput{}, fmt.Errorf("%s %s: output without metrics: %q", store, group, stdout.String())
	}
	progress("  done in %s", time.Since(start).Round(10*time.Millisecond))
	return out, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// dirSize returns the bytes of every file under dir: a store's database
// file and whatever it keeps beside it (livedb's write-ahead log in
// <file>-wal/), all of which a copy of the database must take.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	return n, err
}
