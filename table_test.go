package livedb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// typedSchema is the workflows / agentSessions schema of the typed tests:
// IDs, a union of literals, an optional output, a Float64 start time, an
// Int64 attempt, a Float64 counter and a nested object.
func typedSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("in_progress"), v.Literal("completed"), v.Literal("failed")),
		})).Index("by_status", "status"),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"status":     v.Union(v.Literal("pending"), v.Literal("running"), v.Literal("done"), v.Literal("failed")),
			"output":     v.Optional(v.String()),
			"startedAt":  v.Float64(),
			"attempt":    v.Int64(),
			"tokens":     v.Optional(v.Float64()),
			"meta": v.Optional(v.Object(v.Fields{
				"model": v.String(),
				"tags":  v.Array(v.String()),
			})),
		})).Index("by_workflow", "workflowId").
			Index("by_workflow_and_status", "workflowId", "status"),
	})
}

// typedWorkflow is a workflows document.
type typedWorkflow struct {
	ID           livedb.Ref[typedWorkflow] `json:"_id"`
	CreationTime float64                   `json:"_creationTime"`
	Task         string                    `json:"task"`
	Status       string                    `json:"status"`
}

// typedMeta is the nested meta object of an agent session.
type typedMeta struct {
	Model string   `json:"model"`
	Tags  []string `json:"tags"`
}

// typedSession is an agentSessions document.
type typedSession struct {
	ID           livedb.Ref[typedSession]  `json:"_id"`
	CreationTime float64                   `json:"_creationTime"`
	WorkflowID   livedb.Ref[typedWorkflow] `json:"workflowId"`
	AgentType    string                    `json:"agentType"`
	Status       string                    `json:"status"`
	Output       *string                   `json:"output"`
	StartedAt    float64                   `json:"startedAt"`
	Attempt      int64                     `json:"attempt"`
	Tokens       int                       `json:"tokens,omitempty"` // a v.Float64 counter
	Meta         *typedMeta                `json:"meta"`
}

var (
	typedWorkflows = livedb.NewTable[typedWorkflow]("workflows")
	typedSessions  = livedb.NewTable[typedSession]("agentSessions")
)

// mustTypedMutate runs fn in a mutation and fails the test on error.
func mustTypedMutate(t *testing.T, db *livedb.DB, fn func(w *livedb.Writer) error) {
	t.Helper()
	require.NoError(t, db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return fn(m.DB) }))
}

// mustTypedQuery runs fn in a query and fails the test on error.
func mustTypedQuery(t *testing.T, db *livedb.DB, fn func(r *livedb.Reader) error) {
	t.Helper()
	require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error { return fn(q.DB) }))
}

// mustInsertTypedWorkflow inserts a pending workflow.
func mustInsertTypedWorkflow(t *testing.T, db *livedb.DB, task string) livedb.Ref[typedWorkflow] {
	t.Helper()
	var ref livedb.Ref[typedWorkflow]
	mustTypedMutate(t, db, func(w *livedb.Writer) error {
		var err error
		ref, err = typedWorkflows.Insert(w, typedWorkflow{Task: task, Status: "pending"})
		return err
	})
	return ref
}

func typedPtr[T any](x T) *T { return &x }

func TestTable_Insert_GetRoundTrip(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "ship it")
		in := typedSession{
			ID:         "ignored", // system fields are never written
			WorkflowID: wf, AgentType: "planner", Status: "running",
			Output: typedPtr("plan ready"), StartedAt: 1700000000123.5, Attempt: 2, Tokens: 1234,
			Meta: &typedMeta{Model: "m-1", Tags: []string{"a", "b"}},
		}
		var ref livedb.Ref[typedSession]
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			var err error
			ref, err = typedSessions.Insert(w, in)
			return err
		})
		require.Len(t, string(ref), 32)
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			got, ok, err := typedSessions.Get(r, ref)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, ref, got.ID)
			assert.Positive(t, got.CreationTime)
			want := in
			want.ID, want.CreationTime = ref, got.CreationTime
			assert.Equal(t, want, got)

			// The untyped view shows how the values were typed by the schema.
			d, ok, err := r.Get(ref.ID())
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, int64(2), d["attempt"])
			assert.Equal(t, float64(1234), d["tokens"], "a Go int for a v.Float64 field is a Float64")
			assert.Equal(t, string(wf), d["workflowId"])

			w, ok, err := typedWorkflows.Get(r, wf)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, typedWorkflow{ID: wf, CreationTime: w.CreationTime, Task: "ship it", Status: "pending"}, w)
			return nil
		})
	})
}

func TestTable_Insert_OptionalFieldsAbsent(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "x")
		var ref livedb.Ref[typedSession]
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			var err error
			ref, err = typedSessions.Insert(w, typedSession{WorkflowID: wf, AgentType: "coder", Status: "pending", StartedAt: 1, Attempt: 0})
			return err
		})
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			d, _, err := r.Get(ref.ID())
			require.NoError(t, err)
			for _, f := range []string{"output", "tokens", "meta"} {
				assert.NotContains(t, d, f, "nil pointers and omitempty zeros are absent")
			}
			got, ok, err := typedSessions.Get(r, ref)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Nil(t, got.Output)
			assert.Nil(t, got.Meta)
			assert.Zero(t, got.Tokens)
			return nil
		})
	})
}

func TestTable_Replace_PatchDelete(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "x")
		var ref livedb.Ref[typedSession]
		var created float64
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			var err error
			ref, err = typedSessions.Insert(w, typedSession{WorkflowID: wf, AgentType: "coder", Status: "running", Output: typedPtr("draft"), StartedAt: 5, Attempt: 1})
			if err != nil {
				return err
			}
			s, _, err := typedSessions.Get(w, ref)
			created = s.CreationTime
			return err
		})

		// Replace: the nil Output removes the field; system fields are kept.
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			return typedSessions.Replace(w, ref, typedSession{ID: "other", WorkflowID: wf, AgentType: "reviewer", Status: "done", StartedAt: 6, Attempt: 3})
		})
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			got, ok, err := typedSessions.Get(r, ref)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, typedSession{ID: ref, CreationTime: created, WorkflowID: wf, AgentType: "reviewer", Status: "done", StartedAt: 6, Attempt: 3}, got)
			return nil
		})

		// Patch: values are converted like struct fields (a struct, a Go
		// int); Undefined and a nil pointer remove fields.
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			return typedSessions.Patch(w, ref, livedb.Doc{
				"status": "failed",
				"meta":   typedMeta{Model: "m-2", Tags: []string{"x"}},
				"tokens": 7,
				"output": typedPtr("boom"),
			})
		})
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			return typedSessions.Patch(w, ref, livedb.Doc{"output": (*string)(nil), "tokens": livedb.Undefined})
		})
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			got, ok, err := typedSessions.Get(r, ref)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "failed", got.Status)
			assert.Equal(t, &typedMeta{Model: "m-2", Tags: []string{"x"}}, got.Meta)
			assert.Nil(t, got.Output)
			assert.Zero(t, got.Tokens)
			return nil
		})

		mustTypedMutate(t, db, func(w *livedb.Writer) error { return typedSessions.Delete(w, ref) })
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			_, ok, err := typedSessions.Get(r, ref)
			require.NoError(t, err)
			assert.False(t, ok)
			return nil
		})
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return typedSessions.Delete(m.DB, ref) })
		require.ErrorIs(t, err, livedb.ErrNotFound)
		err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			return typedSessions.Replace(m.DB, ref, typedSession{WorkflowID: wf, AgentType: "a", Status: "done"})
		})
		require.ErrorIs(t, err, livedb.ErrNotFound)
	})
}

func TestTable_Insert_SchemaViolationWritesNothing(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "x")
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			if _, err := typedSessions.Insert(m.DB, typedSession{WorkflowID: wf, AgentType: "ok", Status: "running"}); err != nil {
				return err
			}
			_, err := typedSessions.Insert(m.DB, typedSession{WorkflowID: wf, AgentType: "bad", Status: "sleeping"})
			return err
		})
		require.ErrorIs(t, err, livedb.ErrSchemaEnforcement)
		var de *livedb.DocumentError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "insert", de.Op)
		assert.Equal(t, "agentSessions", de.Table)
		assert.Contains(t, err.Error(), "status")

		// An ID of the wrong table in a v.ID field is refused as well.
		err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			s, err := typedSessions.Insert(m.DB, typedSession{WorkflowID: wf, AgentType: "a", Status: "done"})
			if err != nil {
				return err
			}
			_, err = typedSessions.Insert(m.DB, typedSession{WorkflowID: livedb.Ref[typedWorkflow](s), AgentType: "b", Status: "done"})
			return err
		})
		require.ErrorIs(t, err, livedb.ErrSchemaEnforcement)

		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			all, err := typedSessions.Query(r).Collect()
			require.NoError(t, err)
			assert.Empty(t, all, "a failed mutation writes nothing")
			return nil
		})
	})
}

func TestTable_Get_RefOfAnotherTable(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "x")
		wrong := livedb.Ref[typedSession](wf)
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			_, ok, err := typedSessions.Get(r, wrong)
			require.ErrorIs(t, err, livedb.ErrInvalidID)
			assert.Contains(t, err.Error(), `Id<"agentSessions">, got Id<"workflows">`)
			assert.False(t, ok)
			_, _, err = typedSessions.Get(r, "not-an-id")
			require.ErrorIs(t, err, livedb.ErrInvalidID)
			return nil
		})
		for name, op := range map[string]func(w *livedb.Writer) error{
			"patch":   func(w *livedb.Writer) error { return typedSessions.Patch(w, wrong, livedb.Doc{"status": "done"}) },
			"replace": func(w *livedb.Writer) error { return typedSessions.Replace(w, wrong, typedSession{}) },
			"delete":  func(w *livedb.Writer) error { return typedSessions.Delete(w, wrong) },
		} {
			err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return op(m.DB) })
			require.ErrorIs(t, err, livedb.ErrInvalidID, name)
		}
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			w, ok, err := typedWorkflows.Get(r, wf)
			require.NoError(t, err)
			require.True(t, ok, "the workflow is untouched")
			assert.Equal(t, "pending", w.Status)
			return nil
		})
	})
}

func TestTable_Get_DocumentDoesNotFit(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "x")
		var id livedb.ID
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			var err error
			id, err = w.Insert("agentSessions", livedb.Doc{"workflowId": wf.ID(), "agentType": "a", "status": "done", "startedAt": 1.0, "attempt": int64(1), "tokens": 1.5})
			return err
		})
		want := `livedb: decode agentSessions document "` + string(id) + `" field .tokens (typedSession.Tokens): value 1.5 (Float64) does not fit int`
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			_, ok, err := typedSessions.Get(r, livedb.Ref[typedSession](id))
			require.EqualError(t, err, want)
			assert.False(t, ok)
			var ce *livedb.CodecError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, livedb.CodecError{Op: "decode", Table: "agentSessions", ID: id, Path: ".tokens", Field: "typedSession.Tokens", Reason: "value 1.5 (Float64) does not fit int"}, *ce)

			_, err = typedSessions.Query(r).Collect()
			require.EqualError(t, err, want)
			for s, err := range typedSessions.Query(r).All() {
				require.EqualError(t, err, want)
				assert.Zero(t, s)
			}
			_, err = typedSessions.Query(r).Paginate(livedb.PaginationOptions{NumItems: 5})
			require.EqualError(t, err, want)
			return nil
		})
	})
}

// mustInsertTypedSessions inserts sessions for wf with the given statuses and
// startedAt 0, 1, 2, ... and returns their references in order.
func mustInsertTypedSessions(t *testing.T, db *livedb.DB, wf livedb.Ref[typedWorkflow], statuses ...string) []livedb.Ref[typedSession] {
	t.Helper()
	var refs []livedb.Ref[typedSession]
	mustTypedMutate(t, db, func(w *livedb.Writer) error {
		refs = refs[:0]
		for i, st := range statuses {
			ref, err := typedSessions.Insert(w, typedSession{WorkflowID: wf, AgentType: "agent", Status: st, StartedAt: float64(i), Attempt: int64(i)})
			if err != nil {
				return err
			}
			refs = append(refs, ref)
		}
		return nil
	})
	return refs
}

func typedStartedAts(ss []typedSession) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = s.StartedAt
	}
	return out
}

func TestTypedQuery_WithIndex_Collect(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "a")
		other := mustInsertTypedWorkflow(t, db, "b")
		mustInsertTypedSessions(t, db, wf, "running", "done", "running", "running")
		mustInsertTypedSessions(t, db, other, "running")
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			byStatus := func(rng livedb.IndexRange) livedb.IndexRange {
				return rng.Eq("workflowId", wf).Eq("status", "running") // a Ref as it is
			}
			running, err := typedSessions.Query(r).WithIndex("by_workflow_and_status", byStatus).Collect()
			require.NoError(t, err)
			assert.Equal(t, []float64{0, 2, 3}, typedStartedAts(running))
			for _, s := range running {
				assert.Equal(t, wf, s.WorkflowID)
				assert.NotEmpty(t, s.ID)
			}

			desc, err := typedSessions.Query(r).WithIndex("by_workflow_and_status", byStatus).Order(livedb.Desc).Take(2)
			require.NoError(t, err)
			assert.Equal(t, []float64{3, 2}, typedStartedAts(desc))

			first, ok, err := typedSessions.Query(r).WithIndex("by_workflow", func(rng livedb.IndexRange) livedb.IndexRange {
				return rng.Eq("workflowId", other)
			}).First()
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, other, first.WorkflowID)

			done, ok, err := typedSessions.Query(r).WithIndex("by_workflow_and_status", func(rng livedb.IndexRange) livedb.IndexRange {
				return rng.Eq("workflowId", wf).Eq("status", "done")
			}).Unique()
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, 1.0, done.StartedAt)
			_, _, err = typedSessions.Query(r).WithIndex("by_workflow_and_status", byStatus).Unique()
			require.ErrorIs(t, err, livedb.ErrInvalidQuery)
			_, ok, err = typedSessions.Query(r).WithIndex("by_workflow_and_status", func(rng livedb.IndexRange) livedb.IndexRange {
				return rng.Eq("workflowId", wf).Eq("status", "failed")
			}).First()
			require.NoError(t, err)
			assert.False(t, ok)

			filtered, err := typedSessions.Query(r).
				Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Gte(f.Field("attempt"), int64(2)) }).
				FilterFunc(func(d livedb.Doc) (bool, error) { return d["workflowId"] == string(wf), nil }).
				Collect()
			require.NoError(t, err)
			assert.Equal(t, []float64{2, 3}, typedStartedAts(filtered))

			var seen []float64
			for s, err := range typedSessions.Query(r).WithIndex("by_workflow", func(rng livedb.IndexRange) livedb.IndexRange {
				return rng.Eq("workflowId", wf)
			}).All() {
				require.NoError(t, err)
				seen = append(seen, s.StartedAt)
				if len(seen) == 2 {
					break
				}
			}
			assert.Equal(t, []float64{0, 1}, seen)

			_, err = typedSessions.Query(r).WithIndex("no_such_index", nil).Collect()
			require.ErrorIs(t, err, livedb.ErrIndexNotFound)
			return nil
		})
	})
}

func TestTypedQuery_Paginate(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertTypedWorkflow(t, db, "a")
		refs := mustInsertTypedSessions(t, db, wf, "running", "done", "running", "failed", "pending")
		var got []livedb.Ref[typedSession]
		cursor := ""
		for range 10 {
			var page livedb.PaginationResult[typedSession]
			mustTypedQuery(t, db, func(r *livedb.Reader) error {
				var err error
				page, err = typedSessions.Query(r).WithIndex("by_workflow", func(rng livedb.IndexRange) livedb.IndexRange {
					return rng.Eq("workflowId", wf)
				}).Paginate(livedb.PaginationOptions{NumItems: 2, Cursor: cursor})
				return err
			})
			assert.LessOrEqual(t, len(page.Page), 2)
			for _, s := range page.Page {
				got = append(got, s.ID)
			}
			require.NotEmpty(t, page.ContinueCursor)
			cursor = page.ContinueCursor
			if page.IsDone {
				break
			}
		}
		assert.Equal(t, refs, got)

		// A typed cursor continues the untyped query with the same shape.
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			p1, err := typedSessions.Query(r).Paginate(livedb.PaginationOptions{NumItems: 3})
			require.NoError(t, err)
			require.Len(t, p1.Page, 3)
			assert.False(t, p1.IsDone)
			p2, err := r.Query("agentSessions").Paginate(livedb.PaginationOptions{NumItems: 10, Cursor: p1.ContinueCursor})
			require.NoError(t, err)
			require.Len(t, p2.Page, 2)
			assert.Equal(t, refs[3].ID(), p2.Page[0].ID())
			return nil
		})
	})
}

// typedBad has a field no document value can map to.
type typedBad struct {
	Name string   `json:"name"`
	Ch   chan int `json:"ch"`
}

func TestNewTable_BadTypeOrName(t *testing.T) {
	tests := []struct {
		name    string
		run     func(w *livedb.Writer) error
		wantErr string
		wantIs  error
	}{
		{"chan field", func(w *livedb.Writer) error {
			tb := livedb.NewTable[typedBad]("workflows")
			require.Equal(t, "workflows", tb.Name())
			require.Error(t, tb.Err())
			return runEveryTypedMethod(w, tb, typedBad{})
		}, `livedb: type workflows field .ch (typedBad.Ch): chan int is not supported (kind chan)`, nil},
		{"not a struct", func(w *livedb.Writer) error {
			return runEveryTypedMethod(w, livedb.NewTable[int]("workflows"), 1)
		}, "a Table's type must be a struct or a pointer to a struct, not int", nil},
		{"map with int keys", func(w *livedb.Writer) error {
			return runEveryTypedMethod(w, livedb.NewTable[struct{ M map[int]string }]("workflows"), struct{ M map[int]string }{})
		}, "map[int]string has keys of type int", nil},
		{"bad table name", func(w *livedb.Writer) error {
			return runEveryTypedMethod(w, livedb.NewTable[typedWorkflow]("_system"), typedWorkflow{})
		}, "NewTable(\"_system\")", livedb.ErrInvalidTable},
	}
	db := livedbtest.New(t, typedSchema())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return tc.run(m.DB) })
			require.ErrorContains(t, err, tc.wantErr)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
		})
	}
}

// runEveryTypedMethod calls every method of tb and requires each to fail with
// the same error, which it returns.
func runEveryTypedMethod[T any](w *livedb.Writer, tb *livedb.Table[T], x T) error {
	want := tb.Err()
	if want == nil {
		return errors.New("Err() is nil")
	}
	r := livedb.DBReader(w) // the read methods take the Writer as it is
	_, e1 := tb.Insert(w, x)
	_, _, e2 := tb.Get(r, "x")
	e3 := tb.Replace(w, "x", x)
	e4 := tb.Patch(w, "x", livedb.Doc{"a": 1})
	e5 := tb.Delete(w, "x")
	_, e6 := tb.Query(r).WithIndex("by_id", nil).Order(livedb.Desc).Collect()
	_, e7 := tb.Query(r).Take(1)
	_, _, e8 := tb.Query(r).First()
	_, _, e9 := tb.Query(r).Unique()
	_, e10 := tb.Query(r).Paginate(livedb.PaginationOptions{NumItems: 1})
	var e11 error
	for _, err := range tb.Query(r).All() {
		e11 = err
	}
	for i, err := range []error{e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11} {
		if err != want {
			return errors.Join(errors.New("method "+strings.Repeat("I", i+1)+" did not return Err()"), err)
		}
	}
	return want
}

func TestTable_NilReaderWriter_Error(t *testing.T) {
	_, err := typedSessions.Insert(nil, typedSession{})
	require.ErrorContains(t, err, "nil Writer")
	_, _, err = typedSessions.Get(nil, "x")
	require.ErrorContains(t, err, "nil Reader")
	require.ErrorContains(t, typedSessions.Delete(nil, "x"), "nil Writer")
	_, err = typedSessions.Query(nil).Collect()
	require.ErrorContains(t, err, "nil Reader")
}

func TestTable_Insert_PointerType(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		tb := livedb.NewTable[*typedWorkflow]("workflows")
		require.NoError(t, tb.Err())
		var ref livedb.Ref[*typedWorkflow]
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			_, err := tb.Insert(w, nil)
			require.ErrorContains(t, err, "nil value")
			ref, err = tb.Insert(w, &typedWorkflow{Task: "p", Status: "completed"})
			return err
		})
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			got, ok, err := tb.Get(r, ref)
			require.NoError(t, err)
			require.True(t, ok)
			require.NotNil(t, got)
			assert.Equal(t, "p", got.Task)
			assert.Equal(t, livedb.Ref[typedWorkflow](ref), got.ID)
			return nil
		})
	})
}
