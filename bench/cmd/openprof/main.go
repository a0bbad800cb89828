// Command openprof opens a W7 database many times in one process, each
// open followed by the first indexed query (W4) and Close, to profile what
// an open costs: a CPU profile (samples labelled phase=open for the open
// and its query, phase=close for Close) and the time of each.
//
//	openprof -store livedb-bbolt -dir /tmp/w7 -n 1000000 -opens 50 -cpuprofile cpu.out
//
// With -fresh N it runs N fresh processes per store instead, one open
// each, as W7 does (fresh.go).
//
//	openprof -fresh 50 -w7dir /tmp/w7 -stores livedb-bbolt,raw-bbolt -n 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/livedb-go/livedb/bench/internal/stores"
	"github.com/livedb-go/livedb/bench/internal/workload"
)

func main() {
	store := flag.String("store", stores.LivedbBolt, "store (with a file: livedb-bbolt, raw-bbolt, ...)")
	dir := flag.String("dir", "", "directory of a database built by bench -child build")
	n := flag.Int("n", 100_000, "documents the database was built with")
	opens := flag.Int("opens", 50, "opens")
	cpu := flag.String("cpuprofile", "", "write a CPU profile of the opens and first queries")
	rate := flag.Int("profilerate", 0, "CPU profile samples per second (0: the runtime's default, 100); a fresh process that opens once needs more")
	fresh := flag.Int("fresh", 0, "run this many fresh processes per store instead (one open each, as W7 does), the stores of -stores alternating")
	storeList := flag.String("stores", stores.LivedbBolt+","+stores.RawBolt, "-fresh: stores, comma-separated; ratios are to the last")
	w7dir := flag.String("w7dir", "", "-fresh: a work directory kept by bench -keep -dir (holding w7-<store>-<n>)")
	profileDir := flag.String("profiledir", "", "-fresh: write each child's CPU profile (at -profilerate, default 2000) into this directory")
	child := flag.Bool("child", false, "internal: one fresh open of -store in -dir")
	flag.Parse()
	var err error
	switch {
	case *child:
		err = runChild(*store, *dir, *n, *rate, *cpu)
	case *fresh > 0:
		if *rate == 0 {
			*rate = 2000
		}
		err = runFresh(*storeList, *w7dir, *n, *fresh, *rate, *profileDir)
	default:
		if *rate > 0 {
			runtime.SetCPUProfileRate(*rate)
		}
		err = run(*store, *dir, *n, *opens, *cpu)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openprof:", err)
		os.Exit(1)
	}
}

func run(store, dir string, n, opens int, cpu string) error {
	k, wf, stop, err := prepare(store, n, 0, cpu)
	if err != nil {
		return err
	}
	defer stop()
	var ds []time.Duration
	var faults, cpuT []int64
	for range opens {
		d, r0, r1, err := openOnce(k, dir, wf)
		if err != nil {
			return err
		}
		faults = append(faults, r1.Minflt-r0.Minflt+r1.Majflt-r0.Majflt)
		cpuT = append(cpuT, cpuNanos(r0, r1))
		ds = append(ds, d)
	}
	slices.Sort(ds)
	slices.Sort(faults)
	slices.Sort(cpuT)
	fmt.Printf("%s n=%d opens=%d min %v median %v max %v; page faults median %d; CPU median %v\n", store, n, opens,
		ds[0], ds[len(ds)/2], ds[len(ds)-1], faults[len(faults)/2], time.Duration(cpuT[len(cpuT)/2]))
	return nil
}

// prepare looks up store, which must have a file to open, and returns
// the workflow of the first query; with cpu set it starts a CPU profile
// into that file (at rate samples a second when rate > 0), which stop
// ends.
func prepare(store string, n, rate int, cpu string) (k stores.Kind, wf string, stop func(), err error) {
	if k, err = stores.Lookup(store); err != nil {
		return k, "", nil, err
	}
	if k.Reopen == nil {
		return k, "", nil, fmt.Errorf("%s has no file to open", store)
	}
	wf = workload.WorkflowIDs(n)[0]
	if cpu == "" {
		return k, wf, func() {}, nil
	}
	if rate > 0 {
		runtime.SetCPUProfileRate(rate)
	}
	f, err := os.Create(cpu)
	if err != nil {
		return k, "", nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return k, "", nil, err
	}
	return k, wf, func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// openOnce opens the store's file in dir and runs the first query (W4 on
// workflow wf), timed together as W7 does, then closes it (labelled
// apart in a CPU profile). It returns the time and the process's usage
// before and after the timed part.
func openOnce(k stores.Kind, dir, wf string) (d time.Duration, r0, r1 syscall.Rusage, err error) {
	var st workload.Store
	var got int
	r0 = rusage()
	pprof.Do(context.Background(), pprof.Labels("phase", "open"), func(context.Context) {
		start := time.Now()
		if st, err = k.Reopen(dir); err != nil {
			return
		}
		got, err = st.Running(wf)
		d = time.Since(start)
	})
	r1 = rusage()
	if err == nil && got != workload.RunningPerWorkflow {
		err = fmt.Errorf("first query: %d rows, want %d", got, workload.RunningPerWorkflow)
	}
	if st != nil {
		pprof.Do(context.Background(), pprof.Labels("phase", "close"), func(context.Context) {
			if cerr := st.Close(); err == nil {
				err = cerr
			}
		})
	}
	return d, r0, r1, err
}

// cpuNanos returns the CPU time, user and system, between two usages.
func cpuNanos(r0, r1 syscall.Rusage) int64 {
	return r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
}

// rusage returns the process's resource usage so far.
func rusage() syscall.Rusage {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return r
}
