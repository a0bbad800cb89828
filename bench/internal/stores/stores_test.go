package stores

import (
	"testing"

	"github.com/livedb-go/livedb/bench/internal/workload"
)

// smallOps is a few operations of each kind: enough for the workload's own
// checks (row counts of every query and page, workflowId of every get) to
// catch a store adapter that returns wrong results.
func smallOps() workload.Ops {
	return workload.Ops{
		Insert1: 4, Insert8: 16, Get: 50, Running: 20, Walks: 5,
		PageReads: 2, PageDepths: []int{1, 5, 10}, Moves: 6,
	}
}

func TestKind_RunLoad_AllStoresAgree(t *testing.T) {
	ds := workload.Generate(1000)
	for _, k := range All {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := k.Open(dir, false)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			m, ids, err := workload.RunLoad(st, ds, smallOps())
			if err != nil {
				st.Close()
				t.Fatalf("RunLoad: %v", err)
			}
			if len(ids) != len(ds.Sessions) {
				t.Errorf("RunLoad returned %d IDs, want %d", len(ids), len(ds.Sessions))
			}
			for _, name := range []string{"W1.ns", "W2x1.ns", "W2x8.ns", "W3.ns", "W4.ns", "W5wf.ns", "W5p10.ns", "W6.ns"} {
				if m[name] <= 0 {
					t.Errorf("metric %s = %v, want > 0", name, m[name])
				}
			}
			if w, ok := st.(workload.Watchable); ok != k.Watchable {
				t.Errorf("Watchable = %v, but the store implements it: %v", k.Watchable, ok)
			} else if ok {
				wm, samples, err := workload.RunWatch(st, w, ds, ids, []int{1, 20}, func(int) int { return 4 })
				if err != nil {
					st.Close()
					t.Fatalf("RunWatch: %v", err)
				}
				if got := len(samples["W8s20.lat"]); got != 4 {
					t.Errorf("W8 with 20 subscriptions kept %d latencies, want one per inside commit (4)", got)
				}
				if got := wm["W8s20.inside"]; got < 1 {
					t.Errorf("re-runs per inside commit with 20 subscriptions = %v, want ≥ 1", got)
				}
				if k.Name == LivedbBolt || k.Name == LivedbMemory {
					if got := wm["W8s20.outside"]; got != 0 {
						t.Errorf("livedb re-runs per outside commit = %v, want 0", got)
					}
				}
			}
			if err := st.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		})
	}
}

func TestKind_Reopen_FirstQueryAnswers(t *testing.T) {
	ds := workload.Generate(500)
	for _, k := range All {
		if !k.Durable {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := k.Open(dir, true)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if _, err := workload.Load(st, ds); err != nil {
				st.Close()
				t.Fatalf("load: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			m, err := workload.RunOpen(func() (workload.Store, error) { return k.Reopen(dir) }, ds.Workflows[0])
			if err != nil {
				t.Fatalf("RunOpen: %v", err)
			}
			if m["W7.ns"] <= 0 {
				t.Errorf("W7.ns = %v, want > 0", m["W7.ns"])
			}
		})
	}
}

// TestKind_Open_ReadAPI: livedb-memory-typed reads through Table[T]
// whatever LivedbAPI says; livedb-memory and livedb-bbolt follow it.
func TestKind_Open_ReadAPI(t *testing.T) {
	for _, api := range []string{"map", "typed"} {
		t.Run(api, func(t *testing.T) {
			defer func(old string) { LivedbAPI = old }(LivedbAPI)
			LivedbAPI = api
			for name, want := range map[string]bool{
				LivedbMemoryTyped: true,
				LivedbMemory:      api == "typed",
				LivedbBolt:        api == "typed",
			} {
				k, err := Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				st, err := k.Open(t.TempDir(), true)
				if err != nil {
					t.Fatalf("open %s: %v", name, err)
				}
				if got := st.(*lvStore).typed; got != want {
					t.Errorf("%s with -api %s reads typed: %v, want %v", name, api, got, want)
				}
				if err := st.Close(); err != nil {
					t.Fatalf("close %s: %v", name, err)
				}
			}
		})
	}
}
