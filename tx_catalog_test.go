package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// Tables created by a mutation are part of its transaction: the tests below
// read tables that do not exist yet, create them concurrently, and abort
// mutations that created them. They use no schema, so that any table may
// be created.

// tableNames returns the names TableStats lists.
func tableNames(t *testing.T, db *livedb.DB) []string {
	t.Helper()
	stats, err := db.TableStats(context.Background())
	if err != nil {
		t.Fatalf("TableStats: %v", err)
	}
	var names []string
	for _, s := range stats {
		names = append(names, s.Name)
	}
	return names
}

// A mutation that read a table as missing must be re-run when another
// mutation creates the table (and inserts into it) after its snapshot, just
// as it is when the table existed but was empty.
func TestMutation_MissingTableRead_Conflicts(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%v", existing), func(t *testing.T) {
			forEachBackend(t, nil, func(t *testing.T, db *livedb.DB) {
				ctx := context.Background()
				if existing { // create "a", then empty it
					var id livedb.ID
					mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
						id, err = m.DB.Insert("a", livedb.Doc{"x": 0.0})
						return err
					})
					mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.DB.Delete(id) })
				}
				var runs atomic.Int32
				var seen []int
				err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					docs, err := m.DB.Query("a").Collect()
					if err != nil {
						return err
					}
					seen = append(seen, len(docs))
					if runs.Add(1) == 1 {
						// Another mutation creates "a" after this snapshot.
						done := make(chan error)
						go func() {
							done <- db.Mutation(ctx, func(m *livedb.MutationCtx) error {
								_, err := m.DB.Insert("a", livedb.Doc{"x": 1.0})
								return err
							})
						}()
						if err := <-done; err != nil {
							return err
						}
					}
					_, err = m.DB.Insert("b", livedb.Doc{"sawA": float64(len(docs))})
					return err
				})
				if err != nil {
					t.Fatalf("Mutation: %v", err)
				}
				if got := runs.Load(); got != 2 {
					t.Fatalf("the mutation ran %d times (saw %v documents of a); want 2: its read of a was overtaken by the insert", got, seen)
				}
				b := mustCollect(t, db, "b")
				if len(b) != 1 || b[0]["sawA"] != 1.0 {
					t.Fatalf("b = %v, want one document that saw 1 document of a", b)
				}
			})
		})
	}
}

// A subscription whose query reads a table that does not exist yet gets
// the documents that later inserts put there.
func TestSubscribe_MissingTable_SeesCreation(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, db *livedb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (int, error) {
			docs, err := q.DB.Query("later").Collect()
			return len(docs), err
		})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer sub.Close()
		if u := mustRecv(t, sub.Updates(), 5*time.Second, "first result"); u.Err != nil || u.Value != 0 {
			t.Fatalf("first update = %+v, want 0", u)
		}
		for i := range 2 {
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("later", livedb.Doc{"i": float64(i)})
				return err
			})
		}
		got := 0
		for got < 2 {
			u := mustRecv(t, sub.Updates(), 5*time.Second, fmt.Sprintf("update after the inserts (last result %d)", got))
			if u.Err != nil {
				t.Fatalf("update error: %v", u.Err)
			}
			got = u.Value
		}
	})
}

// A mutation that creates a table and then fails leaves no table behind,
// and neither does an insert whose document is refused.
func TestMutation_Abort_LeavesNoTable(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		errAbort := errors.New("abort")
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			if _, err := m.DB.Insert("ghost", livedb.Doc{"x": 1.0}); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("Mutation = %v, want the abort", err)
		}
		err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("refused", livedb.Doc{"_bad": 1.0})
			return err
		})
		if !errors.Is(err, livedb.ErrInvalidDocument) {
			t.Fatalf("insert of a bad document = %v, want ErrInvalidDocument", err)
		}
		// A mutation whose insert is refused but which goes on and
		// commits something else creates only what it wrote to.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			if _, err := m.DB.Insert("refused", livedb.Doc{"_bad": 1.0}); err == nil {
				return errors.New("the bad document was accepted")
			}
			_, err := m.DB.Insert("kept", livedb.Doc{"x": 1.0})
			return err
		})
		if got := tableNames(t, db); len(got) != 1 || got[0] != "kept" {
			t.Fatalf("tables = %v, want [kept]", got)
		}
		if docs := mustCollect(t, db, "ghost"); len(docs) != 0 {
			t.Fatalf("ghost holds %v", docs)
		}
	})
}

// Two mutations that create the same table concurrently: one creates it,
// the other is re-run and inserts into it; both documents are there.
func TestMutation_CreateSameTable_Concurrently(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert(fmt.Sprintf("t%d", i%4), livedb.Doc{"i": float64(i)})
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Mutation: %v", err)
			}
		}
		total := 0
		for i := range 4 {
			total += len(mustCollect(t, db, fmt.Sprintf("t%d", i)))
		}
		if total != n {
			t.Fatalf("%d documents in all, want %d", total, n)
		}
		stats, err := db.TableStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		numbers := map[uint32]string{}
		for _, s := range stats {
			if other, dup := numbers[s.Number]; dup {
				t.Fatalf("tables %q and %q share number %d", other, s.Name, s.Number)
			}
			numbers[s.Number] = s.Name
		}
		if len(stats) != 4 {
			t.Fatalf("%d tables, want 4", len(stats))
		}
	})
}

// sharedRange is one IndexRange used by many goroutines at once, as a
// package-level variable would be.
var sharedRange = livedb.IndexRange{}.Eq("status", "pending")

// An IndexRange is a value: compiling it for a query must not write into
// it, so one range can be shared by goroutines (run with -race).
func TestQuery_WithIndex_SharedRange(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending"})
			return err
		})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
						docs, err := q.DB.Query("workflows").WithIndex("by_status", func(livedb.IndexRange) livedb.IndexRange { return sharedRange }).Collect()
						if err == nil && len(docs) != 1 {
							err = fmt.Errorf("%d documents, want 1", len(docs))
						}
						return err
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

// A snapshot reads the catalog it holds: a query whose snapshot contains
// the commit that created a table sees the table's documents, even while
// that commit is being published.
func TestQuery_SnapshotSeesItsCatalog(t *testing.T) {
	forEachBackend(t, nil, func(t *testing.T, db *livedb.DB) {
		const n = 150
		var created [n]atomic.Uint64 // commit timestamp of table i's creation
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := make(chan error, 3)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					seen := make([]int, n)
					var ts uint64
					err := db.Query(ctx, func(q *livedb.QueryCtx) error {
						ts = q.DB.Timestamp()
						for i := range n {
							docs, err := q.DB.Query(fmt.Sprintf("t%d", i)).Collect()
							if err != nil {
								return err
							}
							seen[i] = len(docs)
						}
						return nil
					})
					if err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
					for i := range n {
						if c := created[i].Load(); c != 0 && c <= ts && seen[i] != 1 {
							errs <- fmt.Errorf("a snapshot at %d saw %d documents in t%d, created at %d", ts, seen[i], i, c)
							return
						}
					}
				}
			}()
		}
		for i := range n {
			ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert(fmt.Sprintf("t%d", i), livedb.Doc{"i": float64(i)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			created[i].Store(ts)
		}
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

// A document whose index key would be longer than a store takes is refused
// at the write, naming the index, and nothing is written; the mutations
// committing beside it are not affected.
func TestWriter_IndexKeyTooLong(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{"text": v.String()})).Index("by_text", "text"),
	})
	forEachBackend(t, s, func(t *testing.T, db *livedb.DB) {
		long := strings.Repeat("x", 40_000)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				errs[i] = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					text := fmt.Sprint("note ", i)
					if i == 0 {
						text = long
					}
					_, err := m.DB.Insert("notes", livedb.Doc{"text": text})
					return err
				})
			})
		}
		wg.Wait()
		if !errors.Is(errs[0], livedb.ErrInvalidDocument) || !strings.Contains(errs[0].Error(), "notes.by_text") || !strings.Contains(errs[0].Error(), "insert") {
			t.Fatalf("insert of a long indexed value = %v, want ErrInvalidDocument naming notes.by_text", errs[0])
		}
		for i, err := range errs[1:] {
			if err != nil {
				t.Fatalf("mutation %d beside it: %v", i+1, err)
			}
		}
		if n := len(mustCollect(t, db, "notes")); n != 7 {
			t.Fatalf("%d notes, want 7", n)
		}
		// A patch that makes the key too long is refused the same way.
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			d, _, err := m.DB.Query("notes").First()
			if err != nil {
				return err
			}
			return m.DB.Patch(d.ID(), livedb.Doc{"text": long})
		})
		if !errors.Is(err, livedb.ErrInvalidDocument) || !strings.Contains(err.Error(), "patch") {
			t.Fatalf("patch = %v, want ErrInvalidDocument", err)
		}
	})
}
