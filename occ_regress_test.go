package livedb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// The tests of this file pin OCC edges that an earlier suite missed: each
// fails when the bug it names is put back (see the test's comment).

// rxOther returns the x of the only document of table "other", which the
// tests below use to record what a mutation read.
func rxOther(t *testing.T, db *livedb.DB) int64 {
	t.Helper()
	docs := mustCollect(t, db, "other")
	require.Len(t, docs, 1, "table other")
	return rxInt(t, docs[0], "x")
}

// TestDB_Mutation_ConflictsWithDeleteOfReadDocument reads a document, lets
// another mutation delete it, then patches it. The delete has no new keys:
// only the check of a committed write's old keys against the read set sees
// it. Without that check the patch committed and resurrected the document.
func TestDB_Mutation_ConflictsWithDeleteOfReadDocument(t *testing.T) {
	forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		id, _ := rxInsert(t, db, 1, 10)
		runs := 0
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			runs++
			d, ok, err := m.DB.Get(id)
			if err != nil || !ok {
				return err // gone on the retry: nothing to do
			}
			if runs == 1 {
				if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error { return m2.DB.Delete(id) }); err != nil {
					return fmt.Errorf("concurrent delete: %w", err)
				}
			}
			return m.DB.Patch(id, livedb.Doc{"n": rxInt(t, d, "n") + 1})
		})
		require.NoError(t, err)
		assert.Equal(t, 2, runs, "the mutation must conflict with the delete and run again")
		var found bool
		require.NoError(t, db.Query(ctx, func(q *livedb.QueryCtx) error {
			_, found, err = q.DB.Get(id)
			return err
		}))
		assert.False(t, found, "the deleted document was resurrected by a patch based on a stale read")
		assert.Empty(t, mustCollect(t, db, "items"))
	})
}

// TestDB_Mutation_ConflictsWhenReadDocumentMovesAway counts the documents
// of an index range, lets another mutation move one of them to another
// index key (its new key is outside the range, its old key inside), then
// records the count. The mutation must run again and record the count the
// commit order explains.
func TestDB_Mutation_ConflictsWhenReadDocumentMovesAway(t *testing.T) {
	cases := []struct {
		name string
		move func(m *livedb.MutationCtx, id livedb.ID) error
	}{
		{"patch to another bucket", func(m *livedb.MutationCtx, id livedb.ID) error {
			return m.DB.Patch(id, livedb.Doc{"bucket": int64(2)})
		}},
		{"replace with another bucket", func(m *livedb.MutationCtx, id livedb.ID) error {
			return m.DB.Replace(id, livedb.Doc{"bucket": int64(2), "n": int64(10)})
		}},
		{"delete", func(m *livedb.MutationCtx, id livedb.ID) error { return m.DB.Delete(id) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
				ctx := context.Background()
				id, _ := rxInsert(t, db, 1, 10)
				rxInsert(t, db, 1, 11)
				var other livedb.ID
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					var err error
					other, err = m.DB.Insert("other", livedb.Doc{"x": int64(-1)})
					return err
				})
				runs := 0
				err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					runs++
					docs, err := m.DB.Query("items").WithIndex("by_bucket", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("bucket", 1) }).Collect()
					if err != nil {
						return err
					}
					if runs == 1 {
						if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error { return tc.move(m2, id) }); err != nil {
							return fmt.Errorf("concurrent write: %w", err)
						}
					}
					return m.DB.Patch(other, livedb.Doc{"x": int64(len(docs))})
				})
				require.NoError(t, err)
				assert.Equal(t, 2, runs, "the mutation must conflict and run again")
				assert.Equal(t, int64(1), rxOther(t, db), "the recorded count of bucket 1 is the one before the move, which committed first")
			})
		})
	}
}

// rxLimitedRead is a read that stops before the end of its index range:
// the last row it consumed must be in its read set.
type rxLimitedRead struct {
	name string
	// read returns the documents read from bucket 1, in scan order.
	read func(r *livedb.Reader) ([]livedb.Doc, error)
	// last is the position (in ascending index order of the bucket's
	// three documents) of the last document read.
	last int
	desc bool
}

// rxBucket1IDs inserts three documents into bucket 1, with n 0, 1 and 2 in
// ascending by_bucket order, and returns their IDs in that order. (The
// order of documents inserted in the same millisecond depends on their
// random IDs, so n is assigned after reading the order.)
func rxBucket1IDs(t *testing.T, db *livedb.DB) []livedb.ID {
	t.Helper()
	for range 3 {
		rxInsert(t, db, 1, -1)
	}
	var ids []livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		ids = ids[:0]
		docs, err := rxBucket1(livedb.Asc, &m.DB.Reader).Collect()
		for i, d := range docs {
			ids = append(ids, d.ID())
			if err == nil {
				err = m.DB.Patch(d.ID(), livedb.Doc{"n": int64(i)})
			}
		}
		return err
	})
	require.Len(t, ids, 3)
	return ids
}

func rxBucket1(order livedb.Order, r *livedb.Reader) *livedb.Query {
	return r.Query("items").WithIndex("by_bucket", func(ir livedb.IndexRange) livedb.IndexRange { return ir.Eq("bucket", 1) }).Order(order)
}

// rxLimitedReads are First, Take and a Paginate page, in both orders, over
// bucket 1 of three documents.
var rxLimitedReads = []rxLimitedRead{
	{"First", func(r *livedb.Reader) ([]livedb.Doc, error) {
		d, ok, err := rxBucket1(livedb.Asc, r).First()
		if !ok {
			return nil, err
		}
		return []livedb.Doc{d}, err
	}, 0, false},
	{"First desc", func(r *livedb.Reader) ([]livedb.Doc, error) {
		d, ok, err := rxBucket1(livedb.Desc, r).First()
		if !ok {
			return nil, err
		}
		return []livedb.Doc{d}, err
	}, 2, true},
	{"Take 2", func(r *livedb.Reader) ([]livedb.Doc, error) {
		return rxBucket1(livedb.Asc, r).Take(2)
	}, 1, false},
	{"Take 2 desc", func(r *livedb.Reader) ([]livedb.Doc, error) {
		return rxBucket1(livedb.Desc, r).Take(2)
	}, 1, true},
	{"Paginate 2", func(r *livedb.Reader) ([]livedb.Doc, error) {
		res, err := rxBucket1(livedb.Asc, r).Paginate(livedb.PaginationOptions{NumItems: 2})
		return res.Page, err
	}, 1, false},
	{"Paginate 2 desc", func(r *livedb.Reader) ([]livedb.Doc, error) {
		res, err := rxBucket1(livedb.Desc, r).Paginate(livedb.PaginationOptions{NumItems: 2})
		return res.Page, err
	}, 1, true},
}

// rxSumN sums the n of documents.
func rxSumN(t *testing.T, docs []livedb.Doc) int64 {
	t.Helper()
	var s int64
	for _, d := range docs {
		s += rxInt(t, d, "n")
	}
	return s
}

// TestDB_Mutation_ConflictsOnLastRowOfLimitedRead reads part of an index
// range (First, Take, a page), lets another mutation patch the last
// document it read (a field outside the index: its index key does not
// move), then records what it read. The last row's key must be in the read
// set (the interval ends at its successor): without it the mutation
// committed a result computed from a stale read.
func TestDB_Mutation_ConflictsOnLastRowOfLimitedRead(t *testing.T) {
	for _, rd := range rxLimitedReads {
		t.Run(rd.name, func(t *testing.T) {
			forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
				ctx := context.Background()
				ids := rxBucket1IDs(t, db)
				var other livedb.ID
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					var err error
					other, err = m.DB.Insert("other", livedb.Doc{"x": int64(-1)})
					return err
				})
				runs := 0
				var want int64
				err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					runs++
					docs, err := rd.read(&m.DB.Reader)
					if err != nil {
						return err
					}
					want = rxSumN(t, docs)
					if runs == 1 {
						if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error {
							return m2.DB.Patch(ids[rd.last], livedb.Doc{"n": int64(100)})
						}); err != nil {
							return fmt.Errorf("concurrent patch: %w", err)
						}
					}
					return m.DB.Patch(other, livedb.Doc{"x": want})
				})
				require.NoError(t, err)
				assert.Equal(t, 2, runs, "the patch of the last document read must conflict")
				assert.Equal(t, want, rxOther(t, db))
				assert.GreaterOrEqual(t, want, int64(100), "the committed run read the patched document")
			})
		})
	}
}

// TestDB_MutationTS_LastTimestampCoversIt checks, from many goroutines at
// once, that LastTimestamp read right after MutationTS returns is at least
// the timestamp it returned: the committer publishes a commit (OCC log,
// last timestamp) before it answers the caller. A scheduling race makes
// this a probabilistic check; TestDB_CommitGroup_PublishesBeforeReplying is
// the deterministic one.
func TestDB_MutationTS_LastTimestampCoversIt(t *testing.T) {
	const writers, each = 8, 150
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
						_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(w), "n": int64(i)})
						return err
					})
					if last := db.LastTimestamp(); err == nil && last < ts {
						err = fmt.Errorf("writer %d: LastTimestamp() = %d right after MutationTS returned %d", w, last, ts)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := len(mustCollect(t, db, "items")); n != writers*each {
			t.Errorf("%d items, want %d", n, writers*each)
		}
	})
}
