package livedb_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

func TestDB_Insert_GetRoundTrip(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		wf := mustInsertWorkflow(t, db, "ship it", "pending")
		require.Len(t, string(wf), 32)
		var sess livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			sess, err = m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "planner", "status": "running", "attempt": 1})
			return err
		})
		err := db.Query(ctx, func(q *livedb.QueryCtx) error {
			d, ok, err := q.DB.Get(sess)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, sess, d.ID())
			assert.Equal(t, string(wf), d["workflowId"])
			assert.Equal(t, int64(1), d["attempt"], "a Go int for a v.Int64 field is stored as int64")
			assert.Greater(t, d.CreationTime(), float64(time.Now().Add(-time.Minute).UnixMilli()))
			_, ok, err = q.DB.Get(wf)
			require.NoError(t, err)
			assert.True(t, ok)
			return nil
		})
		require.NoError(t, err)
	})
}

func TestDB_Insert_FloatFieldTakesGoInt(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			id, err = m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending", "step": 3})
			return err
		})
		require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			d, _, err := q.DB.Get(id)
			assert.Equal(t, 3.0, d["step"])
			return err
		}))
	})
}

func TestDB_Mutation_SeesOwnWrites(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			id, err := m.DB.Insert("workflows", livedb.Doc{"task": "a", "status": "pending"})
			require.NoError(t, err)
			d, ok, err := m.DB.Get(id)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "a", d["task"])
			require.NoError(t, m.DB.Patch(id, livedb.Doc{"status": "in_progress"}))
			got, err := m.DB.Query("workflows").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("status", "in_progress")
			}).Collect()
			require.NoError(t, err)
			require.Len(t, got, 1)
			none, err := m.DB.Query("workflows").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("status", "pending")
			}).Collect()
			require.NoError(t, err)
			assert.Empty(t, none)
			require.NoError(t, m.DB.Delete(id))
			_, ok, err = m.DB.Get(id)
			require.NoError(t, err)
			assert.False(t, ok)
			return nil
		})
		assert.Empty(t, mustCollect(t, db, "workflows"))
	})
}

func TestDB_Mutation_DiscardsOnErrorPanicAndCancel(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("workflows", livedb.Doc{"task": "a", "status": "pending"})
			require.NoError(t, err)
			return boom
		})
		assert.ErrorIs(t, err, boom)
		assert.Panics(t, func() {
			_ = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
				_, _ = m.DB.Insert("workflows", livedb.Doc{"task": "b", "status": "pending"})
				panic("in fn")
			})
		})
		cctx, cancel := context.WithCancel(ctx)
		err = db.Mutation(cctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("workflows", livedb.Doc{"task": "c", "status": "pending"})
			cancel()
			return err
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, mustCollect(t, db, "workflows"))
	})
}

func TestWriter_Patch(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertWorkflow(t, db, "a", "pending")
		var sess livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			sess, err = m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "coder", "status": "running", "output": "x"})
			return err
		})
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(sess, livedb.Doc{"output": livedb.Undefined, "status": "done", "_id": sess})
		})
		docs := mustCollect(t, db, "agentSessions")
		require.Len(t, docs, 1)
		assert.NotContains(t, docs[0], "output")
		assert.Equal(t, "done", docs[0]["status"])
		// A system field with another value is refused.
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			return m.DB.Patch(sess, livedb.Doc{"_creationTime": 5.0})
		})
		assert.ErrorIs(t, err, livedb.ErrInvalidDocument)
	})
}

func TestWriter_Replace(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertWorkflow(t, db, "a", "pending")
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			return m.DB.Replace(wf, livedb.Doc{"task": "b", "status": "completed"})
		})
		docs := mustCollect(t, db, "workflows")
		require.Len(t, docs, 1)
		assert.Equal(t, "b", docs[0]["task"])
		assert.Equal(t, wf, docs[0].ID())
	})
}

// TestWriter_BadInput shows, for each class of bad input, the error and that
// nothing was written.
func TestWriter_BadInput(t *testing.T) {
	forEachBackendOptions(t, agentSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		wf := mustInsertWorkflow(t, db, "keep", "pending")
		deleted := mustInsertWorkflow(t, db, "gone", "pending")
		mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.DB.Delete(deleted) })
		var sess livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			sess, err = m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "a", "status": "s"})
			return err
		})
		big := strings.Repeat("x", 1<<20)
		cases := []struct {
			name    string
			write   func(w *livedb.Writer) error
			want    error
			message string
		}{
			{"wrong type", func(w *livedb.Writer) error {
				_, err := w.Insert("workflows", livedb.Doc{"task": 5, "status": "pending"})
				return err
			}, livedb.ErrSchemaEnforcement, "task"},
			{"missing field", func(w *livedb.Writer) error {
				_, err := w.Insert("workflows", livedb.Doc{"status": "pending"})
				return err
			}, livedb.ErrSchemaEnforcement, "task"},
			{"extra field", func(w *livedb.Writer) error {
				_, err := w.Insert("workflows", livedb.Doc{"task": "x", "status": "pending", "color": "red"})
				return err
			}, livedb.ErrSchemaEnforcement, "color"},
			{"bad literal", func(w *livedb.Writer) error {
				_, err := w.Insert("workflows", livedb.Doc{"task": "x", "status": "paused"})
				return err
			}, livedb.ErrSchemaEnforcement, "status"},
			{"too large", func(w *livedb.Writer) error {
				_, err := w.Insert("workflows", livedb.Doc{"task": big, "status": "pending"})
				return err
			}, livedb.ErrInvalidDocument, "too large"},
			{"bad field name", func(w *livedb.Writer) error {
				_, err := w.Insert("notes", livedb.Doc{"$x": 1})
				return err
			}, livedb.ErrInvalidDocument, "$x"},
			{"underscore field", func(w *livedb.Writer) error {
				_, err := w.Insert("notes", livedb.Doc{"_x": 1})
				return err
			}, livedb.ErrInvalidDocument, "_x"},
			{"wrong table in ID", func(w *livedb.Writer) error {
				_, err := w.Insert("agentSessions", livedb.Doc{"workflowId": sess, "agentType": "a", "status": "s"})
				return err
			}, livedb.ErrSchemaEnforcement, "agentSessions"},
			{"not an ID", func(w *livedb.Writer) error {
				return w.Patch("not-an-id", livedb.Doc{"status": "s"})
			}, livedb.ErrInvalidID, "not-an-id"},
			{"write to deleted document", func(w *livedb.Writer) error {
				return w.Patch(deleted, livedb.Doc{"status": "completed"})
			}, livedb.ErrNotFound, string(deleted)},
			{"delete deleted document", func(w *livedb.Writer) error {
				return w.Delete(deleted)
			}, livedb.ErrNotFound, string(deleted)},
			{"system table", func(w *livedb.Writer) error {
				_, err := w.Insert("_tables", livedb.Doc{"a": 1})
				return err
			}, livedb.ErrInvalidTable, "_tables"},
			{"unsupported Go type", func(w *livedb.Writer) error {
				_, err := w.Insert("notes", livedb.Doc{"when": time.Now()})
				return err
			}, livedb.ErrInvalidDocument, "time.Time"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := [2]int{len(mustCollect(t, db, "workflows")), len(mustCollect(t, db, "agentSessions"))}
				err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					_, _ = m.DB.Insert("workflows", livedb.Doc{"task": "side effect", "status": "pending"})
					return tc.write(m.DB)
				})
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.want)
				assert.Contains(t, err.Error(), tc.message)
				after := [2]int{len(mustCollect(t, db, "workflows")), len(mustCollect(t, db, "agentSessions"))}
				assert.Equal(t, before, after, "nothing was written")
				assert.Empty(t, mustCollect(t, db, "notes"))
				require.NoError(t, db.Check(ctx))
			})
		}
		var ve *v.ValidationError
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("workflows", livedb.Doc{"task": 5, "status": "pending"})
			return err
		})
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, ".task", ve.Path)
	})
}

func TestWriter_NoOpPatchIsNotAWrite(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertWorkflow(t, db, "a", "pending")
		ts1, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error { return nil })
		require.NoError(t, err)
		ts2, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
			return m.DB.Patch(wf, livedb.Doc{"status": "pending"})
		})
		require.NoError(t, err)
		assert.Equal(t, ts1, ts2, "an unchanged patch commits nothing")
	})
}

func TestDB_ImplicitTable(t *testing.T) {
	forEachBackendOptions(t, agentSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		assert.Empty(t, mustCollect(t, db, "notes"), "a table that does not exist is empty")
		err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			_, err := q.DB.Query("notes").WithIndex("by_x", nil).Collect()
			return err
		})
		assert.ErrorIs(t, err, livedb.ErrIndexNotFound)
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("notes", livedb.Doc{"anything": []any{1, "two", nil}})
			return err
		})
		docs := mustCollect(t, db, "notes")
		require.Len(t, docs, 1)
		assert.Equal(t, []any{int64(1), "two", nil}, docs[0]["anything"])
	})
}

func TestReader_NormalizeID(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertWorkflow(t, db, "a", "pending")
		require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			id, ok := q.DB.NormalizeID("workflows", string(wf))
			assert.True(t, ok)
			assert.Equal(t, wf, id)
			_, ok = q.DB.NormalizeID("agentSessions", string(wf))
			assert.False(t, ok)
			_, ok = q.DB.NormalizeID("nope", string(wf))
			assert.False(t, ok)
			_, ok = q.DB.NormalizeID("workflows", "garbage")
			assert.False(t, ok)
			return nil
		}))
	})
}

func TestOpen_ReopenKeepsDocumentsAndIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := livedb.Open(path, agentSchema(), nil)
	require.NoError(t, err)
	wf := mustInsertWorkflow(t, db, "a", "in_progress")
	require.NoError(t, db.Close())

	db, err = livedb.Open(path, agentSchema(), nil)
	require.NoError(t, err)
	defer livedbtest.MustCheckClose(t, db)
	require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Query("workflows").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("status", "in_progress")
		}).Unique()
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, wf, d.ID())
		return nil
	}))
}

func TestOpen_SchemaEvolution(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	require.NoError(t, err)
	for i := range 30 {
		mustInsertWorkflow(t, db, "t", []string{"pending", "failed", "completed"}[i%3])
	}
	require.NoError(t, db.Close())

	// A new index is backfilled, a removed one dropped, a looser validator
	// needs no re-check.
	var progress []livedb.Progress
	s2 := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.String(),
			"step":   v.Optional(v.Float64()),
			"owner":  v.Optional(v.String()),
		})).Index("by_task_status", "task", "status"),
	})
	db, err = livedb.Open(path, s2, &livedb.Options{NoSync: true, Progress: func(p livedb.Progress) { progress = append(progress, p) }})
	require.NoError(t, err)
	require.NotEmpty(t, progress)
	require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		got, err := q.DB.Query("workflows").WithIndex("by_task_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("task", "t").Eq("status", "failed")
		}).Collect()
		require.NoError(t, err)
		assert.Len(t, got, 10)
		_, err = q.DB.Query("workflows").WithIndex("by_status", nil).Collect()
		assert.ErrorIs(t, err, livedb.ErrIndexNotFound)
		return nil
	}))
	require.NoError(t, db.Check(context.Background()))
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "weird"})
		return err
	})
	require.NoError(t, db.Close())

	// A stricter validator that some documents fail: Open refuses and
	// leaves the file as it was.
	_, err = livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	var mm *livedb.SchemaMismatchError
	require.ErrorAs(t, err, &mm)
	assert.ErrorIs(t, err, livedb.ErrSchemaMismatch)
	assert.Equal(t, 1, mm.Total)
	assert.Equal(t, "workflows", mm.Failures[0].Table)
	assert.Contains(t, err.Error(), "weird")

	db, err = livedb.Open(path, s2, &livedb.Options{NoSync: true})
	require.NoError(t, err, "the old schema still opens: nothing was changed")
	assert.Len(t, mustCollect(t, db, "workflows"), 31)
	livedbtest.MustCheckClose(t, db)
}

func TestOpen_NotLivedb(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"text.db": []byte("hello, I am not a database\n"),
		"random.db": func() []byte {
			b := make([]byte, 64<<10)
			for i := range b {
				b[i] = byte(i*7 + i/3)
			}
			return b
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(p, content, 0o600))
			_, err := livedb.Open(p, agentSchema(), &livedb.Options{Timeout: 100 * time.Millisecond})
			require.Error(t, err)
			assert.ErrorIs(t, err, livedb.ErrNotLivedb)
		})
	}
}

const lockHelperEnv = "LIVEDB_TEST_HOLD_LOCK"

// TestHelperHoldLock is not a test: run as a child process by
// TestOpen_LockedByAnotherProcess, it opens the file and holds it.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		return
	}
	db, err := livedb.Open(path, agentSchema(), nil)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(30 * time.Second) // killed by the parent long before
	_ = db.Close()
}

func TestOpen_LockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$", "-test.v")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 0, 256)
	for !strings.Contains(string(buf), "locked") {
		chunk := make([]byte, 64)
		n, err := out.Read(chunk)
		require.NoError(t, err, "child output so far: %s", buf)
		buf = append(buf, chunk[:n]...)
		require.NotContains(t, string(buf), "error")
	}

	_, err = livedb.Open(path, agentSchema(), &livedb.Options{Timeout: 200 * time.Millisecond})
	require.Error(t, err)
	assert.ErrorIs(t, err, livedb.ErrLocked)
	assert.Contains(t, err.Error(), "locked by another process")
}

// A file that keeps the last commit's timestamp at the key used before it
// moved next to the change feed opens with that timestamp, and later
// commits are stamped after it.
// A file of another format version is refused, and left as it was.
func TestOpen_OtherFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	require.NoError(t, err)
	mustInsertWorkflow(t, db, "a", "in_progress")
	require.NoError(t, db.Close())
	var old []byte
	mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) {
		v, ok, err := snap.Get([]byte("\x00catalog"))
		require.NoError(t, err)
		require.True(t, ok)
		old = bytes.Replace(v, []byte(`"version":6`), []byte(`"version":5`), 1)
		require.NotEqual(t, v, old, "the catalog does not say version 6")
		b.Put([]byte("\x00catalog"), old)
	})
	_, err = livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	require.ErrorIs(t, err, livedb.ErrNotLivedb)
	assert.Contains(t, err.Error(), "version 5")
	mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) {
		v, _, err := snap.Get([]byte("\x00catalog"))
		require.NoError(t, err)
		assert.Equal(t, old, v, "a refused file is not written")
	})
}

// A mutation's queries see its own writes however writes and queries
// interleave: the index overlay is built lazily, at the first scan after
// a write, and later writes must still reach it.
func TestDB_Mutation_SeesOwnWritesBetweenQueries(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		existing := mustInsertWorkflow(t, db, "existing", "pending")
		tasksWith := func(m *livedb.MutationCtx, status string) []string {
			t.Helper()
			docs, err := m.DB.Query("workflows").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("status", status)
			}).Collect()
			require.NoError(t, err)
			var out []string
			for _, d := range docs {
				out = append(out, d["task"].(string))
			}
			return out
		}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			a, err := m.DB.Insert("workflows", livedb.Doc{"task": "a", "status": "pending"})
			require.NoError(t, err)
			assert.Equal(t, []string{"existing", "a"}, tasksWith(m, "pending"))
			require.NoError(t, m.DB.Patch(a, livedb.Doc{"status": "in_progress"}))
			_, err = m.DB.Insert("workflows", livedb.Doc{"task": "b", "status": "pending"})
			require.NoError(t, err)
			assert.Equal(t, []string{"existing", "b"}, tasksWith(m, "pending"))
			assert.Equal(t, []string{"a"}, tasksWith(m, "in_progress"))
			require.NoError(t, m.DB.Delete(existing))
			require.NoError(t, m.DB.Patch(a, livedb.Doc{"status": "pending"}))
			assert.Equal(t, []string{"a", "b"}, tasksWith(m, "pending"))
			assert.Empty(t, tasksWith(m, "in_progress"))
			return nil
		})
		docs := mustCollect(t, db, "workflows")
		require.Len(t, docs, 2)
	})
}
