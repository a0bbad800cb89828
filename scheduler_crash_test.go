package livedb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
	"github.com/livedb-go/livedb/workpool"
)

// The exactly-once harness of the scheduler and the work pool:
// TestRunner_CrashExactlyOnce re-executes the test binary as a child
// process (gated by schedCrashChildEnv) that opens a bbolt file with fsync
// on, starts a Runner and a pool's workers, and keeps scheduling functions
// and enqueueing items, printing every acknowledged commit. The parent
// kills the child with SIGKILL at a random moment, then checks the file:
// no function ran twice, no item completed twice, nothing acknowledged is
// missing from the system tables, and a function or item is marked done
// exactly when its effect is there. The next child picks up what the
// killed one left: overdue functions, items whose lease a dead worker
// held. At the end the parent drains everything and checks that every
// acknowledged function ran, and every acknowledged item completed,
// exactly once.
//
// The default run does schedCrashDefaultRounds rounds; LIVEDB_SCHED_CRASH_ROUNDS
// sets another count, LIVEDB_SCHED_CRASH_SEED replays a run.

const (
	schedCrashChildEnv      = "LIVEDB_SCHED_CRASH_CHILD" // set in the child: the database path
	schedCrashDefaultRounds = 50
	schedCrashLease         = 150 * time.Millisecond
	schedCrashChildLifetime = 60 * time.Second
)

func schedCrashSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"effects": livedb.DefineTable(v.Object(v.Fields{"key": v.String()})).Index("by_key", "key"),
		"done":    livedb.DefineTable(v.Object(v.Fields{"key": v.String(), "kind": v.String()})).Index("by_key", "key"),
	})
}

// schedCrashRegistry: "crash:effect" records a scheduled function's run,
// "crash:done" an item's completion.
func schedCrashRegistry() (*livedb.Registry, error) {
	type keyArgs struct {
		Key string `json:"key"`
	}
	effect := livedb.NewMutation(livedb.FunctionDef[keyArgs, any]{Name: "crash:effect", Internal: true},
		func(m *livedb.MutationCtx, a keyArgs) (any, error) {
			_, err := m.DB.Insert("effects", livedb.Doc{"key": a.Key})
			return nil, err
		})
	done := livedb.NewMutation(livedb.FunctionDef[workpool.OnCompleteArgs, any]{Name: "crash:done", Internal: true},
		func(m *livedb.MutationCtx, a workpool.OnCompleteArgs) (any, error) {
			key, _ := a.Context.(string)
			_, err := m.DB.Insert("done", livedb.Doc{"key": key, "kind": string(a.Result.Kind)})
			return nil, err
		})
	return livedb.NewRegistry(effect, done)
}

var schedCrashPool = workpool.New("crash", &workpool.Options{
	MaxParallelism: 4,
	Lease:          schedCrashLease,
	Retry:          workpool.RetryPolicy{MaxAttempts: 1000, InitialBackoff: time.Millisecond, Base: 1.5},
})

// schedCrashWork fails one attempt in five, so that retries happen too.
func schedCrashWork(_ context.Context, it *workpool.Item) (any, error) {
	if rand.IntN(5) == 0 {
		return nil, errors.New("flaky")
	}
	return it.Args["key"], nil
}

func TestRunner_CrashExactlyOnce(t *testing.T) {
	if path := os.Getenv(schedCrashChildEnv); path != "" {
		schedCrashChild(t, path)
		return
	}
	rounds := crashIntSetting(0, "LIVEDB_SCHED_CRASH_ROUNDS", schedCrashDefaultRounds)
	seed, _ := strconv.ParseUint(os.Getenv("LIVEDB_SCHED_CRASH_SEED"), 10, 64)
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("scheduler crash harness: %d rounds, seed %d (replay with LIVEDB_SCHED_CRASH_SEED=%d)", rounds, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 17))
	path := filepath.Join(t.TempDir(), "sched-crash.db")
	acked := map[string]bool{} // "job:<key>" and "item:<key>"
	start := time.Now()
	for round := 1; round <= rounds; round++ {
		delay := 30*time.Millisecond + time.Duration(rng.Int64N(int64(250*time.Millisecond)))
		keys, err := runSchedCrashChild(t, path, round, delay)
		if err != nil {
			t.Fatalf("round %d (seed %d): %v", round, seed, err)
		}
		for _, k := range keys {
			acked[k] = true
		}
		if err := verifySchedCrash(path, acked, false); err != nil {
			t.Fatalf("round %d (seed %d, kill after %v): %v", round, seed, delay, err)
		}
	}
	if len(acked) == 0 {
		t.Fatalf("no child acknowledged anything in %d rounds: the harness tested nothing", rounds)
	}
	if err := drainSchedCrash(path); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if err := verifySchedCrash(path, acked, true); err != nil {
		t.Fatalf("after the drain: %v", err)
	}
	t.Logf("scheduler crash harness: %d rounds, %d acknowledged functions and items, each done exactly once; %v",
		rounds, len(acked), time.Since(start).Round(time.Millisecond))
}

// runSchedCrashChild runs one child, kills it delay after it is ready,
// and returns what it acknowledged.
func runSchedCrashChild(t *testing.T, path string, round int, delay time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), schedCrashChildLifetime)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunner_CrashExactlyOnce$", "-test.count=1")
	cmd.Env = append(os.Environ(), schedCrashChildEnv+"="+path, "LIVEDB_SCHED_CRASH_ROUND="+strconv.Itoa(round), "GOMAXPROCS=2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	var keys []string
	var parseErr error
	var readDone sync.WaitGroup
	readDone.Go(func() { keys, parseErr = parseSchedCrashOutput(out, ready) })
	select {
	case <-ready:
	case <-ctx.Done():
	}
	timer := time.NewTimer(delay)
	<-timer.C
	_ = cmd.Process.Signal(syscall.SIGKILL)
	readDone.Wait()
	werr := cmd.Wait()
	if parseErr != nil {
		return nil, fmt.Errorf("%w; stderr:\n%s", parseErr, stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(werr, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return nil, fmt.Errorf("child did not die of SIGKILL (%v); stderr:\n%s", werr, stderr.String())
	}
	return keys, nil
}

// parseSchedCrashOutput reads the child's lines: "ready", "ack <key>...",
// "fail <message>". Each is written with one write(2): a line cut by the
// kill was not acknowledged.
func parseSchedCrashOutput(r io.Reader, ready chan struct{}) ([]string, error) {
	sc := bufio.NewScanner(r)
	readyClosed := false
	var keys []string
	var failure error
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case f[0] == "ready" && !readyClosed:
			close(ready)
			readyClosed = true
		case f[0] == "ack" && strings.HasSuffix(sc.Text(), " end"):
			keys = append(keys, f[1:len(f)-1]...)
		case f[0] == "fail" && failure == nil:
			failure = fmt.Errorf("child failed: %s", sc.Text())
		}
	}
	if !readyClosed {
		close(ready)
	}
	return keys, failure
}

// schedCrashChild opens the database, runs the Runner and the pool's
// workers, and schedules and enqueues until it is killed.
func schedCrashChild(t *testing.T, path string) {
	round, _ := strconv.Atoi(os.Getenv("LIVEDB_SCHED_CRASH_ROUND"))
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...) + "\n"
		outMu.Lock()
		_, _ = os.Stdout.WriteString(line) // one write(2)
		outMu.Unlock()
	}
	reg, err := schedCrashRegistry()
	if err != nil {
		say("fail registry: %v", err)
		return
	}
	db, err := livedb.Open(path, schedCrashSchema(), &livedb.Options{Timeout: 10 * time.Second})
	if err != nil {
		say("fail open: %v", err)
		return
	}
	r, err := db.StartScheduler(reg, nil)
	if err != nil {
		say("fail start: %v", err)
		return
	}
	go func() {
		if err := schedCrashPool.Work(context.Background(), r, schedCrashWork); err != nil {
			say("fail work: %v", err)
		}
	}()
	say("ready")
	for w := range 2 {
		go func() {
			for seq := 0; ; seq++ {
				base := fmt.Sprintf("%d.%d.%d", round, w, seq)
				var keys []string
				err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					keys = keys[:0]
					for i := range 2 {
						key := fmt.Sprintf("%s.%d", base, i)
						delay := time.Duration(rand.IntN(20)) * time.Millisecond
						if _, err := m.Scheduler().RunAfter(delay, "crash:effect", livedb.Doc{"key": key}); err != nil {
							return err
						}
						keys = append(keys, "job:"+key)
						if _, err := schedCrashPool.Enqueue(m, livedb.Doc{"key": key}, &workpool.EnqueueOptions{OnComplete: "crash:done", Context: key}); err != nil {
							return err
						}
						keys = append(keys, "item:"+key)
					}
					return nil
				})
				if err != nil {
					say("fail schedule %s: %v", base, err)
					return
				}
				say("ack %s end", strings.Join(keys, " "))
			}
		}()
	}
	// The parent kills the child; this bound only stops an orphan.
	time.Sleep(schedCrashChildLifetime)
	say("fail the parent never killed the child")
	os.Exit(3)
}

// drainSchedCrash runs a Runner and the pool's workers on the file until
// no function is pending and no item unfinished (items a killed child
// held come back when their lease ends).
func drainSchedCrash(path string) error {
	reg, err := schedCrashRegistry()
	if err != nil {
		return err
	}
	db, err := livedb.Open(path, schedCrashSchema(), &livedb.Options{NoSync: true, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := db.StartScheduler(reg, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	go func() { _ = schedCrashPool.Work(ctx, r, schedCrashWork) }()
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (int, error) {
		n := 0
		for _, st := range []string{"pending", "running"} {
			items, err := q.DB.Query(workpool.ItemsTable).WithIndex("by_ready", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("pool", "crash").Eq("state", st)
			}).Collect()
			if err != nil {
				return 0, err
			}
			n += len(items)
		}
		jobs, err := q.DB.Query("_scheduled_functions").WithIndex("by_state_and_time", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("state.kind", "pending")
		}).Collect()
		return n + len(jobs), err
	})
	if err != nil {
		return err
	}
	defer sub.Close()
	for u := range sub.Updates() {
		if u.Err != nil {
			return u.Err
		}
		if u.Value == 0 {
			return nil
		}
	}
	return fmt.Errorf("work left after %v: %w", testWait, ctx.Err())
}

// verifySchedCrash checks the file against what was acknowledged: no
// effect twice, nothing acknowledged missing, and a function or item
// marked done exactly when its effect is there; with all set, every
// acknowledged function and item is done.
func verifySchedCrash(path string, acked map[string]bool, all bool) (err error) {
	db, err := livedb.Open(path, schedCrashSchema(), &livedb.Options{Timeout: 10 * time.Second, Limits: livedb.Limits{DocumentsRead: 1 << 30, BytesRead: 1 << 40}})
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	ctx := context.Background()
	if err := db.Check(ctx); err != nil {
		return err
	}
	return db.Query(ctx, func(q *livedb.QueryCtx) error {
		effects, err := schedCrashCount(q, "effects")
		if err != nil {
			return err
		}
		done, err := schedCrashCount(q, "done")
		if err != nil {
			return err
		}
		for k, n := range effects {
			if n > 1 {
				return fmt.Errorf("function %s ran %d times", k, n)
			}
		}
		for k, n := range done {
			if n > 1 {
				return fmt.Errorf("item %s completed %d times", k, n)
			}
		}
		jobs, err := q.DB.Query("_scheduled_functions").Collect()
		if err != nil {
			return err
		}
		items, err := q.DB.Query(workpool.ItemsTable).Collect()
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, j := range jobs {
			key := j["args"].([]any)[0].(map[string]any)["key"].(string)
			seen["job:"+key] = true
			state := j["state"].(map[string]any)["kind"]
			if (state == "success") != (effects[key] == 1) {
				return fmt.Errorf("function %s is %s with %d effects", key, state, effects[key])
			}
			if all && acked["job:"+key] && state != "success" {
				return fmt.Errorf("acknowledged function %s is %s after the drain", key, state)
			}
		}
		for _, it := range items {
			key := it["args"].(map[string]any)["key"].(string)
			seen["item:"+key] = true
			state := it["state"]
			if (state == "success") != (done[key] == 1) {
				return fmt.Errorf("item %s is %s with %d completions", key, state, done[key])
			}
			if all && acked["item:"+key] && state != "success" {
				return fmt.Errorf("acknowledged item %s is %s after the drain", key, state)
			}
		}
		for k := range acked {
			if !seen[k] {
				return fmt.Errorf("acknowledged %s is lost", k)
			}
		}
		return nil
	})
}

// schedCrashCount counts a table's documents by key.
func schedCrashCount(q *livedb.QueryCtx, table string) (map[string]int, error) {
	docs, err := q.DB.Query(table).Collect()
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, d := range docs {
		n[d["key"].(string)]++
	}
	return n, nil
}
