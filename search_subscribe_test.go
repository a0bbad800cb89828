package livedb_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// TestSearch_Subscribe_RerunsOnlyForItsTerms checks a search
// subscription's precision on every backend: it re-runs (exactly once)
// for a commit that adds, removes or changes a document holding one of
// its terms (the last as a prefix) with the filtered status, or that
// changes a returned document, and never for other writes, including
// ones that only move the corpus statistics.
func TestSearch_Subscribe_RerunsOnlyForItsTerms(t *testing.T) {
	forEachBackend(t, searchSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		var hit, other, doneLogin livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			if hit, err = m.DB.Insert("notes", livedb.Doc{"body": "fix the login bug", "status": "todo"}); err != nil {
				return err
			}
			if doneLogin, err = m.DB.Insert("notes", livedb.Doc{"body": "login works", "status": "done"}); err != nil {
				return err
			}
			other, err = m.DB.Insert("notes", livedb.Doc{"body": "deploy the agent", "status": "todo"})
			return err
		})
		var runs atomic.Int64
		sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) ([]livedb.ID, error) {
			runs.Add(1)
			docs, err := searchNotes(q.DB, "bug log", map[string]any{"status": "todo"}).Collect()
			var ids []livedb.ID
			for _, d := range docs {
				ids = append(ids, d.ID())
			}
			return ids, err
		})
		require.NoError(t, err)
		defer sub.Close()
		require.Equal(t, []livedb.ID{hit}, mustRecv(t, sub.Updates(), testWait, "the first result").Value)

		var added livedb.ID
		steps := []struct {
			name  string
			write func(m *livedb.MutationCtx) error
			rerun bool
		}{
			{"insert a document without the terms", func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("notes", livedb.Doc{"body": "plan the review", "status": "todo"})
				return err
			}, false},
			{"insert a document with a term but another status", func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("notes", livedb.Doc{"body": "bug in logout", "status": "done"})
				return err
			}, false},
			{"patch a document without the terms", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(other, livedb.Doc{"body": "deploy the agents now"})
			}, false},
			{"patch a field no index holds, outside the results", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(doneLogin, livedb.Doc{"n": int64(3)})
			}, false},
			{"delete a document without the terms", func(m *livedb.MutationCtx) error {
				id, err := m.DB.Insert("notes", livedb.Doc{"body": "merge", "status": "todo"})
				if err != nil {
					return err
				}
				return m.DB.Delete(id)
			}, false},
			{"insert a document whose term starts with the prefix", func(m *livedb.MutationCtx) error {
				var err error
				added, err = m.DB.Insert("notes", livedb.Doc{"body": "Logout fails", "status": "todo"})
				return err
			}, true},
			{"patch a returned document's other field", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(hit, livedb.Doc{"n": int64(1)})
			}, true},
			{"move a document with the terms to another status", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(added, livedb.Doc{"status": "done"})
			}, true},
			{"patch the moved document, now filtered out", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(added, livedb.Doc{"body": "logout fails again"})
			}, false},
			{"give a document one of the terms", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(other, livedb.Doc{"body": "deploy bug"})
			}, true},
			{"delete a returned document", func(m *livedb.MutationCtx) error {
				return m.DB.Delete(hit)
			}, true},
		}
		for _, st := range steps {
			before := runs.Load()
			ts, err := db.MutationTS(ctx, st.write)
			require.NoError(t, err, st.name)
			_, err = db.WaitSubscriptions(boundedCtx(t), ts)
			require.NoError(t, err, st.name)
			want := before
			if st.rerun {
				want++
			}
			require.Equal(t, want, runs.Load(), "%s: runs", st.name)
		}
		var final []livedb.ID
		require.NoError(t, db.Query(ctx, func(q *livedb.QueryCtx) error {
			docs, err := searchNotes(q.DB, "bug log", map[string]any{"status": "todo"}).Collect()
			for _, d := range docs {
				final = append(final, d.ID())
			}
			return err
		}))
		require.Equal(t, []livedb.ID{other}, final)
	})
}

// TestSearch_Subscribe_AnotherProcessCommit checks, on a shared database,
// that a search in one process sees and re-runs for another process's
// commit, and that both copies hold the same index (Check at cleanup
// verifies each copy's postings and statistics against its documents).
func TestSearch_Subscribe_AnotherProcessCommit(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		ctx := context.Background()
		a, b := open(t, searchSchema(), nil), open(t, searchSchema(), nil)
		search := func(q *livedb.QueryCtx) ([]livedb.ID, error) {
			docs, err := searchNotes(q.DB, "agent", nil).Collect()
			var ids []livedb.ID
			for _, d := range docs {
				ids = append(ids, d.ID())
			}
			return ids, err
		}
		sub, err := livedb.Subscribe(ctx, b, search)
		require.NoError(t, err)
		defer sub.Close()
		require.Empty(t, mustRecv(t, sub.Updates(), testWait, "the first result").Value)
		var id livedb.ID
		ts, err := a.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			for range 3 {
				if _, err := m.DB.Insert("notes", livedb.Doc{"body": "plan", "status": "todo"}); err != nil {
					return err
				}
			}
			id, err = m.DB.Insert("notes", livedb.Doc{"body": "the agent plans", "status": "todo"})
			return err
		})
		require.NoError(t, err)
		require.NoError(t, b.CatchUp(boundedCtx(t), ts))
		for {
			u := mustRecv(t, sub.Updates(), testWait, "the result after A's insert")
			require.NoError(t, u.Err)
			if len(u.Value) > 0 {
				require.Equal(t, []livedb.ID{id}, u.Value)
				break
			}
		}
		// B writes, A reads: the statistics both derive are the same.
		ts, err = b.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("notes", livedb.Doc{"body": "agent agent review", "status": "done"})
			return err
		})
		require.NoError(t, err)
		require.NoError(t, a.CatchUp(boundedCtx(t), ts))
		var ra, rb []livedb.ID
		require.NoError(t, a.Query(ctx, func(q *livedb.QueryCtx) (err error) { ra, err = search(q); return err }))
		require.NoError(t, b.Query(ctx, func(q *livedb.QueryCtx) (err error) { rb, err = search(q); return err }))
		require.Len(t, ra, 2)
		require.Equal(t, ra, rb)
		require.NoError(t, a.Check(ctx))
		require.NoError(t, b.Check(ctx))
	})
}
