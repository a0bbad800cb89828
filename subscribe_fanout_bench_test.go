package livedb_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// fanWorkflows and fanSessions shape BenchmarkSubscriptionFanout's data as
// bench's W8: 100 sessions in each of 1,000 workflows, every tenth running.
const (
	fanWorkflows = 1000
	fanSessions  = 100
)

func fanSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"sessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.String(),
			"status":     v.String(),
			"output":     v.String(),
		})).Index("by_workflow_and_status", "workflowId", "status"),
	})
}

// fanRunning is W8's query: how many sessions of workflow wf are running.
func fanRunning(wf int) func(q *livedb.QueryCtx) (int, error) {
	name := fmt.Sprintf("wf-%04d", wf)
	return func(q *livedb.QueryCtx) (int, error) {
		docs, err := q.DB.Query("sessions").WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("workflowId", name).Eq("status", "running")
		}).Collect()
		return len(docs), err
	}
}

// BenchmarkSubscriptionFanout is bench's W8 in the package: subscription i
// counts the running sessions of workflow i mod 1,000, so with 10,000
// subscriptions each workflow has 10 watchers. An op moves a running
// session of workflow 0 to completed or back (every watcher of workflow 0
// gets a new result) and waits until the watchers that are read have it.
// With readers=first only subscription 0 is read, by a goroutine of its
// own, as in W8 (the others keep their unread update); with readers=all
// every subscription of workflow 0 is, and an op waits for the last one.
// commit-p50-ns is the median write call, after-p50-ns the median time
// from its return to the (last) reader's result, lat-p50-ns the median
// from the write call to that result (W8's p50), cpu-ns/op the process's CPU time (what a loaded
// machine measures best), reruns/op the re-runs.
func BenchmarkSubscriptionFanout(b *testing.B) {
	for _, backend := range []string{"memory", "bbolt"} {
		for _, subs := range []int{1, 100, 10000} {
			for _, readers := range []string{"first", "all"} {
				if readers == "all" && subs <= fanWorkflows {
					continue // one subscription on workflow 0: the same as first
				}
				b.Run(fmt.Sprintf("%s/subs=%d/readers=%s", backend, subs, readers), func(b *testing.B) {
					fanBench(b, backend, subs, readers == "all")
				})
			}
		}
	}
}

// fanSeen is a result a reader saw: the commit timestamp of its update,
// and when it saw it.
type fanSeen struct {
	ts uint64
	at time.Time
}

func fanBench(b *testing.B, backend string, subs int, readAll bool) {
	db := rxBenchOpenSchema(b, backend, fanSchema())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := fanFill(b, db)
	status := [2]string{"completed", "running"}
	want := [2]int{fanSessions/10 - 1, fanSessions / 10}
	seen := make(chan fanSeen, 1024)
	readers := 0
	for i := range subs {
		s, err := livedb.Subscribe(ctx, db, fanRunning(i%fanWorkflows))
		if err != nil {
			b.Fatal(err)
		}
		if i != 0 && (!readAll || i%fanWorkflows != 0) {
			continue
		}
		readers++
		<-s.Updates()
		go func() {
			for u := range s.Updates() {
				if u.Err != nil || u.Value != want[0] && u.Value != want[1] {
					b.Errorf("update %d, %v", u.Value, u.Err)
				}
				seen <- fanSeen{u.Timestamp, time.Now()}
			}
		}()
	}
	reruns := db.Stats().Reruns
	cpu0, cpuOK := processCPUTime()
	b.ReportAllocs()
	var commit, after, lat []float64
	n := 0
	for b.Loop() {
		start := time.Now()
		ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(target, livedb.Doc{"status": status[n%2]})
		})
		if err != nil {
			b.Fatal(err)
		}
		returned := time.Now()
		var last time.Time
		timeout := time.After(10 * time.Second)
		for got := 0; got < readers; {
			select {
			case o := <-seen:
				if o.ts >= ts {
					got++
					last = o.at
				}
			case <-timeout:
				b.Fatalf("commit %d: %d of %d readers saw it within 10s", n, got, readers)
			}
		}
		commit = append(commit, float64(returned.Sub(start).Nanoseconds()))
		after = append(after, float64(last.Sub(returned).Nanoseconds()))
		lat = append(lat, float64(last.Sub(start).Nanoseconds()))
		n++
	}
	b.ReportMetric(fanMedian(commit), "commit-p50-ns")
	b.ReportMetric(fanMedian(after), "after-p50-ns")
	b.ReportMetric(fanMedian(lat), "lat-p50-ns")
	if cpu1, ok := processCPUTime(); ok && cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
	}
	b.ReportMetric(float64(db.Stats().Reruns-reruns)/float64(n), "reruns/op")
}

// fanFill loads the sessions (workflow w's k-th is running when k mod 10
// == 0) and returns the ID of a running session of workflow 0.
func fanFill(b *testing.B, db *livedb.DB) livedb.ID {
	b.Helper()
	var target livedb.ID
	output := strings.Repeat("the agent reads the task plans a change ", 3)
	for k := range fanSessions {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for w := range fanWorkflows {
				status := "completed"
				if k%10 == 0 {
					status = "running"
				}
				id, err := m.DB.Insert("sessions", livedb.Doc{"workflowId": fmt.Sprintf("wf-%04d", w), "status": status, "output": output})
				if err != nil {
					return err
				}
				if w == 0 && k == 0 {
					target = id
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return target
}

// rxBenchOpenSchema opens a benchmark database with schema: "memory", or
// "bbolt" (durable, with fsync).
func rxBenchOpenSchema(b *testing.B, backend string, schema *livedb.Schema) *livedb.DB {
	b.Helper()
	var db *livedb.DB
	var err error
	if backend == "memory" {
		db, err = livedb.OpenMemory(schema)
	} else {
		db, err = livedb.Open(b.TempDir()+"/bench.db", schema, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// fanMedian returns the median of xs.
func fanMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
