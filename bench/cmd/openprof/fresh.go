package main

// Fresh-process opens: what W7 times (bench -groups open), where every open
// is a new process that pays first use of its code, heap and file pages.
// Opens repeated in one process (run) reuse all of that, so they hide what
// a fresh process pays.
//
//	openprof -fresh 50 -w7dir /tmp/w7 -stores livedb-bbolt,raw-bbolt -n 1000000 [-profiledir DIR]
//
// A store written STORE@EXE runs its children with the openprof binary EXE
// (an A/B of two builds in one run: -stores livedb-bbolt@/tmp/old,livedb-bbolt).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livedb-go/livedb/bench/internal/machine"
)

// freshResult is what one fresh child reports of its open and first query.
type freshResult struct {
	NS     int64 `json:"ns"`     // wall time, as W7 times it
	CPU    int64 `json:"cpu"`    // user + system CPU of the process in that window
	MinFlt int64 `json:"minflt"` // minor page faults in that window
	MajFlt int64 `json:"majflt"` // major page faults in that window
}

// runFresh runs opens fresh children per store, the stores alternating, and
// prints min/median/max of each figure and the ratio of the medians to the
// last store's.
func runFresh(storeList, w7dir string, n, opens, rate int, profileDir string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	names := strings.Split(storeList, ",")
	res := make(map[string][]freshResult, len(names))
	load0 := machine.LoadAvg()
	for i := range opens {
		for _, name := range names {
			store, childExe, ok := strings.Cut(name, "@")
			if !ok {
				childExe = exe
			}
			args := []string{"-child", "-store", store, "-dir", filepath.Join(w7dir, fmt.Sprintf("w7-%s-%d", store, n)), "-n", strconv.Itoa(n)}
			if profileDir != "" {
				args = append(args, "-cpuprofile", filepath.Join(profileDir, fmt.Sprintf("cpu-%s-%d-%03d.out", store, slices.Index(names, name), i)), "-profilerate", strconv.Itoa(rate))
			}
			var out bytes.Buffer
			cmd := exec.Command(childExe, args...)
			cmd.Stdout, cmd.Stderr = &out, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			var r freshResult
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				return fmt.Errorf("%s: %w (%q)", name, err, out.String())
			}
			res[name] = append(res[name], r)
		}
	}
	fmt.Printf("%d fresh processes per store, n=%d, load %s → %s\n", opens, n, load0, machine.LoadAvg())
	base := names[len(names)-1]
	for _, name := range names {
		fmt.Printf("%-14s", name)
		for _, f := range []struct {
			unit string
			get  func(freshResult) int64
		}{
			{"wall", func(r freshResult) int64 { return r.NS }},
			{"cpu", func(r freshResult) int64 { return r.CPU }},
		} {
			lo, med, hi := stats(res[name], f.get)
			_, bmed, _ := stats(res[base], f.get)
			fmt.Printf("  %s min %v med %v max %v (med %.2f×)", f.unit, time.Duration(lo), time.Duration(med), time.Duration(hi), float64(med)/float64(bmed))
		}
		_, mn, _ := stats(res[name], func(r freshResult) int64 { return r.MinFlt })
		_, mj, _ := stats(res[name], func(r freshResult) int64 { return r.MajFlt })
		fmt.Printf("  faults med %d minor %d major\n", mn, mj)
	}
	return nil
}

// stats returns the min, median and max of get over rs.
func stats(rs []freshResult, get func(freshResult) int64) (lo, med, hi int64) {
	xs := make([]int64, len(rs))
	for i, r := range rs {
		xs[i] = get(r)
	}
	slices.Sort(xs)
	return xs[0], xs[len(xs)/2], xs[len(xs)-1]
}

// runChild opens the store once, as W7's child does (a GC first, then
// the open and the first query timed), and prints a freshResult.
func runChild(store, dir string, n, rate int, cpu string) error {
	k, wf, stop, err := prepare(store, n, rate, cpu)
	if err != nil {
		return err
	}
	defer stop()
	runtime.GC()
	d, r0, r1, err := openOnce(k, dir, wf)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(freshResult{
		NS:     d.Nanoseconds(),
		CPU:    cpuNanos(r0, r1),
		MinFlt: r1.Minflt - r0.Minflt,
		MajFlt: r1.Majflt - r0.Majflt,
	})
}
