package livedb

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb/v"
)

// whiteSchema has the table the white-box scheduler tests write.
func whiteSchema() *Schema {
	return DefineSchema(Tables{"effects": DefineTable(v.Object(v.Fields{"tag": v.String()}))})
}

// whiteRegistry has "effects:add", which inserts its tag.
func whiteRegistry(t *testing.T) *Registry {
	type args struct {
		Tag string `json:"tag"`
	}
	add := NewMutation(FunctionDef[args, any]{Name: "effects:add", Args: v.Object(v.Fields{"tag": v.String()})},
		func(m *MutationCtx, a args) (any, error) {
			_, err := m.DB.Insert("effects", Doc{"tag": a.Tag})
			return nil, err
		})
	reg, err := NewRegistry(add)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestRunner_TwoLoops_RunEachJobOnce runs the steps of two runners on one
// database at once, as two processes would if the singleton lease failed:
// every scheduled function still runs exactly once, because its run and
// its state change commit together.
func TestRunner_TwoLoops_RunEachJobOnce(t *testing.T) {
	const jobs = 80
	for _, backend := range []string{"memory", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			var db *DB
			var err error
			if backend == "memory" {
				db, err = OpenMemory(whiteSchema())
			} else {
				db, err = Open(t.TempDir()+"/two.db", whiteSchema(), &Options{NoSync: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			reg := whiteRegistry(t)
			r1, err := db.StartScheduler(reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r1.Close()
			// A second Runner, not attached (StartScheduler refuses a
			// second one): it stands for another process's loop.
			r2 := &Runner{db: db, reg: reg}
			r2.ctx, r2.cancel = context.WithCancel(context.Background())
			defer r2.cancel()

			err = db.Mutation(context.Background(), func(m *MutationCtx) error {
				for i := range jobs {
					if _, err := m.Scheduler().RunAfter(0, "effects:add", Doc{"tag": fmt.Sprint(i)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, r := range []*Runner{r1, r2, r1, r2} {
				wg.Go(func() {
					if _, err := r.RunDue(context.Background()); err != nil {
						t.Errorf("RunDue: %v", err)
					}
				})
			}
			wg.Wait()
			docs, err := QueryValue(context.Background(), db, func(q *QueryCtx) ([]Doc, error) { return q.DB.Query("effects").Collect() })
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, d := range docs {
				seen[d["tag"].(string)]++
			}
			for i := range jobs {
				if n := seen[fmt.Sprint(i)]; n != 1 {
					t.Errorf("job %d ran %d times", i, n)
				}
			}
			t.Logf("%d jobs by two runners: %d retries after conflicts", jobs, db.Stats().Retries)
		})
	}
}

// TestRunner_RunScheduled_SkipsWhatIsNotPending runs a canceled and a
// finished function directly, as a runner that read them as due just
// before they changed would: neither runs.
func TestRunner_RunScheduled_SkipsWhatIsNotPending(t *testing.T) {
	db, err := OpenMemory(whiteSchema())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.StartScheduler(whiteRegistry(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var canceled, done ID
	err = db.Mutation(context.Background(), func(m *MutationCtx) error {
		if canceled, err = m.Scheduler().RunAfter(time.Hour, "effects:add", Doc{"tag": "canceled"}); err != nil {
			return err
		}
		done, err = m.Scheduler().RunAfter(0, "effects:add", Doc{"tag": "done"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Mutation(context.Background(), func(m *MutationCtx) error { return m.Scheduler().Cancel(canceled) }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []ID{canceled, done} {
		ran, err := r.runScheduled(context.Background(), id)
		if err != nil || ran {
			t.Errorf("runScheduled(%s) = %v, %v; want false, nil", id, ran, err)
		}
	}
	n, err := QueryValue(context.Background(), db, func(q *QueryCtx) (int, error) {
		docs, err := q.DB.Query("effects").Collect()
		return len(docs), err
	})
	if err != nil || n != 1 {
		t.Errorf("effects: %d (%v), want 1: the done function's", n, err)
	}
}

// TestDueMillis checks the rounding of due times: a future time is
// rounded up, never before it; a time not after now is due at once.
func TestDueMillis(t *testing.T) {
	now := time.UnixMilli(1000).Add(300 * time.Microsecond)
	cases := []struct {
		at   time.Time
		want float64
	}{
		{now, 1000},
		{now.Add(-time.Second), 0},
		{now.Add(time.Microsecond), 1001},
		{time.UnixMilli(5000), 5000},
	}
	for _, tc := range cases {
		if got := dueMillis(tc.at, now); got != tc.want {
			t.Errorf("dueMillis(%v) = %v, want %v", tc.at.UnixNano(), got, tc.want)
		}
		if got := fromMillis(dueMillis(tc.at, now)); tc.at.After(now) && got.Before(tc.at) {
			t.Errorf("a due time set for %v fires at %v, before it", tc.at, got)
		}
	}
}
