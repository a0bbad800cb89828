package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// Close under load: the database is closed while mutations, queries,
// subscriptions and change-feed readers run. Each must end with success,
// ErrClosed or its context's error; every mutation that returned nil must
// be in the file when it is reopened; no goroutine may be left behind and
// nothing may deadlock. Run it with -race -count=20 to shake out races.

const (
	closeRounds  = 4
	closeWorkers = 3 // of each kind
)

func closeSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"items": livedb.DefineTable(v.Object(v.Fields{
			"worker": v.Int64(),
			"seq":    v.Int64(),
		})).Index("by_worker", "worker", "seq"),
	})
}

// closeOK reports whether err is an acceptable end of an operation cut by
// Close or by its own context.
func closeOK(err error) bool {
	return err == nil || errors.Is(err, livedb.ErrClosed) || errors.Is(err, context.Canceled)
}

// closeLoad is the work running when Close comes.
type closeLoad struct {
	db   *livedb.DB
	wg   sync.WaitGroup
	mu   sync.Mutex
	acks map[livedb.ID]int64 // mutations that returned nil: id -> seq
	errs []string            // unacceptable outcomes
	ops  int                 // operations that completed before the end
}

func (l *closeLoad) bad(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *closeLoad) done() {
	l.mu.Lock()
	l.ops++
	l.mu.Unlock()
}

// start launches closeWorkers goroutines of each kind. Half of them use a
// context that cancel cancels.
func (l *closeLoad) start(ctx, cancelable context.Context) {
	pick := func(i int) context.Context {
		if i%2 == 1 {
			return cancelable
		}
		return ctx
	}
	for w := range closeWorkers {
		wctx := pick(w)
		l.wg.Go(func() { l.mutator(wctx, int64(w)) })
		l.wg.Go(func() { l.querier(wctx, int64(w)) })
		l.wg.Go(func() { l.subscriber(wctx, int64(w)) })
		l.wg.Go(func() { l.feedReader(wctx) })
	}
}

func (l *closeLoad) mutator(ctx context.Context, worker int64) {
	for seq := int64(0); ; seq++ {
		var id livedb.ID
		err := l.db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			var err error
			id, err = m.DB.Insert("items", livedb.Doc{"worker": worker, "seq": seq})
			if err != nil {
				return err
			}
			// Read something, so that commits conflict now and then.
			_, _, err = m.DB.Query("items").WithIndex("by_worker", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("worker", (worker+1)%closeWorkers)
			}).Order(livedb.Desc).First()
			return err
		})
		if err != nil {
			if !closeOK(err) && !errors.Is(err, livedb.ErrConflict) {
				l.bad("mutation: %v", err)
			}
			if errors.Is(err, livedb.ErrConflict) {
				continue
			}
			return
		}
		l.mu.Lock()
		l.acks[id] = seq
		l.mu.Unlock()
		l.done()
	}
}

func (l *closeLoad) querier(ctx context.Context, worker int64) {
	for {
		err := l.db.Query(ctx, func(q *livedb.QueryCtx) error {
			_, err := q.DB.Query("items").WithIndex("by_worker", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("worker", worker)
			}).Take(20)
			if err != nil {
				return err
			}
			res, err := q.DB.Query("items").Paginate(livedb.PaginationOptions{NumItems: 7})
			if err != nil {
				return err
			}
			for _, d := range res.Page {
				if _, _, err := q.DB.Get(d.ID()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			if !closeOK(err) {
				l.bad("query: %v", err)
			}
			return
		}
		l.done()
	}
}

func (l *closeLoad) subscriber(ctx context.Context, worker int64) {
	for {
		sub, err := livedb.Subscribe(ctx, l.db, func(q *livedb.QueryCtx) (int, error) {
			docs, err := q.DB.Query("items").WithIndex("by_worker", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("worker", worker)
			}).Order(livedb.Desc).Take(3)
			return len(docs), err
		})
		if err != nil {
			if !closeOK(err) {
				l.bad("subscribe: %v", err)
			}
			return
		}
		n := 0
		for u := range sub.Updates() {
			if !closeOK(u.Err) {
				l.bad("subscription update: %v", u.Err)
			}
			if n++; n == 5 {
				sub.Close() // resubscribe now and then
			}
		}
		l.done()
	}
}

func (l *closeLoad) feedReader(ctx context.Context) {
	feed := l.db.Changes(0)
	for {
		_, err := feed.Next(ctx)
		if err != nil {
			if !closeOK(err) {
				l.bad("change feed: %v", err)
			}
			return
		}
		l.done()
	}
}

// waitGroupOrDump waits for wg, failing with every goroutine's stack when
// it takes longer than a generous bound (a deadlock).
func waitGroupOrDump(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s did not finish: deadlock?\n%s", what, buf[:runtime.Stack(buf, true)])
	}
}

// settleGoroutines waits until at most base goroutines run, failing with
// the stacks of the extra ones when they do not go away.
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	for range 500 {
		if runtime.NumGoroutine() <= base {
			return
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	var ours []string
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "livedb") && !strings.Contains(g, "testing.tRunner") && !strings.Contains(g, "testing.(*T).Run") {
			ours = append(ours, g)
		}
	}
	t.Fatalf("%d goroutines left, %d before the database opened; the ones in livedb:\n%s",
		runtime.NumGoroutine(), base, strings.Join(ours, "\n\n"))
}

func TestDB_Close_UnderLoad(t *testing.T) {
	for _, b := range []string{"memory", "bbolt"} {
		t.Run(b, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			totalOps := 0
			for round := range closeRounds {
				totalOps += closeRound(t, b, rng, round)
			}
			if totalOps == 0 {
				t.Fatal("no operation completed before Close in any round: the test tested nothing")
			}
		})
	}
}

// closeRound runs one round: open, load, close at a random moment, check.
// It returns how many operations completed.
func closeRound(t *testing.T, backend string, rng *rand.Rand, round int) int {
	base := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "close.db")
	var db *livedb.DB
	var err error
	if backend == "memory" {
		db, err = livedb.OpenMemory(closeSchema())
	} else {
		db, err = livedb.Open(path, closeSchema(), &livedb.Options{NoSync: true})
	}
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	l := &closeLoad{db: db, acks: map[livedb.ID]int64{}}
	l.start(ctx, cctx)
	// Let the load run until a few operations went through, then close,
	// sometimes cancelling half of the workers first and sometimes closing
	// from two goroutines at once.
	want := 10 + rng.IntN(200)
	for i := 0; ; i++ {
		l.mu.Lock()
		n := l.ops
		l.mu.Unlock()
		if n >= want || i > 20000 {
			break
		}
		runtime.Gosched()
		time.Sleep(50 * time.Microsecond)
	}
	if rng.IntN(3) == 0 {
		cancel()
	}
	var closers sync.WaitGroup
	for range 1 + rng.IntN(2) {
		closers.Go(func() {
			if err := db.Close(); err != nil {
				l.bad("Close: %v", err)
			}
		})
	}
	waitGroupOrDump(t, &closers, "Close")
	waitGroupOrDump(t, &l.wg, "the load")
	cancel()
	for _, e := range l.errs {
		t.Errorf("round %d: %s", round, e)
	}
	closeAfterClose(t, db)
	settleGoroutines(t, base)
	if backend == "bbolt" {
		closeReopen(t, path, l.acks)
	}
	return l.ops
}

// closeAfterClose checks that everything fails with ErrClosed once Close
// returned.
func closeAfterClose(t *testing.T, db *livedb.DB) {
	t.Helper()
	ctx := boundedCtx(t) // Changes.Next must not wait on a closed DB
	if err := db.Mutation(ctx, func(m *livedb.MutationCtx) error { return nil }); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Mutation after Close: %v, want ErrClosed", err)
	}
	if err := db.Query(ctx, func(q *livedb.QueryCtx) error { return nil }); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Query after Close: %v, want ErrClosed", err)
	}
	if _, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (int, error) { return 0, nil }); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if _, err := db.Changes(0).Next(ctx); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Changes.Next after Close: %v, want ErrClosed", err)
	}
	if _, _, err := db.Changes(0).TryNext(); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Changes.TryNext after Close: %v, want ErrClosed", err)
	}
	if err := db.Check(ctx); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Check after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// closeReopen checks that every acknowledged mutation is in the file.
func closeReopen(t *testing.T, path string, acks map[livedb.ID]int64) {
	t.Helper()
	db, err := livedb.Open(path, closeSchema(), &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer livedbtest.MustCheckClose(t, db)
	err = db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		for id, seq := range acks {
			d, ok, err := q.DB.Get(id)
			if err != nil {
				return err
			}
			if !ok {
				t.Errorf("acknowledged insert %s (seq %d) is lost", id, seq)
				continue
			}
			if d["seq"] != seq {
				t.Errorf("document %s has seq %v, want %d", id, d["seq"], seq)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("query after reopen: %v", err)
	}
}

// TestDB_Close_DuringQuery: a read made by a query or mutation that was
// running when Close came fails with ErrClosed, as Close's documentation
// says ("Queries and mutations still running fail with ErrClosed at their
// next database call"). On the memory backend Close does not wait for
// open snapshots, so the read meets the closed store.
func TestDB_Close_DuringQuery(t *testing.T) {
	reads := map[string]func(r *livedb.Reader, id livedb.ID) error{
		"get": func(r *livedb.Reader, id livedb.ID) error { _, _, err := r.Get(id); return err },
		"collect": func(r *livedb.Reader, _ livedb.ID) error {
			_, err := r.Query("items").Collect()
			return err
		},
		"paginate": func(r *livedb.Reader, _ livedb.ID) error {
			_, err := r.Query("items").Paginate(livedb.PaginationOptions{NumItems: 2})
			return err
		},
	}
	for name, read := range reads {
		for _, inMutation := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/mutation=%v", name, inMutation), func(t *testing.T) {
				db, err := livedb.OpenMemory(closeSchema())
				if err != nil {
					t.Fatal(err)
				}
				var id livedb.ID
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					id, err = m.DB.Insert("items", livedb.Doc{"worker": int64(1), "seq": int64(1)})
					return err
				})
				ctx := context.Background()
				body := func(r *livedb.Reader) error {
					if err := db.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
					return read(r, id)
				}
				if inMutation {
					err = db.Mutation(ctx, func(m *livedb.MutationCtx) error { return body(&m.DB.Reader) })
				} else {
					err = db.Query(ctx, func(q *livedb.QueryCtx) error { return body(q.DB) })
				}
				if !errors.Is(err, livedb.ErrClosed) {
					t.Fatalf("%s after Close: %v, want an error wrapping ErrClosed", name, err)
				}
			})
		}
	}
}
