package livedb_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// fnTaskArgs are the arguments of the test functions that take a task.
type fnTaskArgs struct {
	Task   string `json:"task"`
	Status string `json:"status"`
}

// fnTaskArgsValidator validates fnTaskArgs.
func fnTaskArgsValidator() v.Validator {
	return v.Object(v.Fields{
		"task":   v.String(),
		"status": v.Union(v.Literal("pending"), v.Literal("in_progress")),
	})
}

// fnInsertWorkflow inserts a workflow from its arguments.
var fnInsertWorkflow = livedb.NewMutation(livedb.FunctionDef[fnTaskArgs, livedb.ID]{
	Name:    "workflows:insert",
	Args:    fnTaskArgsValidator(),
	Returns: v.ID("workflows"),
}, func(m *livedb.MutationCtx, a fnTaskArgs) (livedb.ID, error) {
	return m.DB.Insert("workflows", livedb.Doc{"task": a.Task, "status": a.Status})
})

// fnCountWorkflows counts the workflows.
var fnCountWorkflows = livedb.NewQuery(livedb.FunctionDef[struct{}, int]{
	Name:    "workflows:count",
	Args:    v.Object(v.Fields{}),
	Returns: v.Float64(),
}, func(q *livedb.QueryCtx, _ struct{}) (int, error) {
	docs, err := q.DB.Query("workflows").Collect()
	return len(docs), err
})

func TestQueryFunction_Call_ArgsValidatorKinds(t *testing.T) {
	db := fnMustOpenMemory(t)
	handler := func(q *livedb.QueryCtx, a livedb.Doc) (string, error) { return "ran", nil }
	cases := []struct {
		name    string
		args    v.Validator
		wantErr error
	}{
		{"object", v.Object(v.Fields{"x": v.Optional(v.String())}), nil},
		{"any", v.Any(), nil},
		{"nil means unvalidated", nil, nil},
		{"string", v.String(), livedb.ErrInvalidFunction},
		{"array", v.Array(v.Any()), livedb.ErrInvalidFunction},
		{"union of objects", v.Union(v.Object(v.Fields{}), v.Object(v.Fields{"x": v.String()})), livedb.ErrInvalidFunction},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, string]{Name: "t:" + tc.name, Args: tc.args}, handler)
			got, err := f.Call(context.Background(), db, livedb.Doc{})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), "t:"+tc.name)
				var ae *livedb.ArgumentError
				assert.False(t, errors.As(err, &ae), "a bad definition is not an argument error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "ran", got)
		})
	}
}

func TestMutationFunction_Call_ArgsValidatorMustBeObject(t *testing.T) {
	db := fnMustOpenMemory(t)
	f := livedb.NewMutation(livedb.FunctionDef[livedb.Doc, livedb.ID]{Name: "bad", Args: v.String()},
		func(m *livedb.MutationCtx, _ livedb.Doc) (livedb.ID, error) {
			return m.DB.Insert("workflows", livedb.Doc{"task": "x", "status": "pending"})
		})
	_, err := f.Call(context.Background(), db, livedb.Doc{})
	require.ErrorIs(t, err, livedb.ErrInvalidFunction)
	assert.Empty(t, mustCollect(t, db, "workflows"), "the handler must not run")
}

func TestFunction_Call_NoHandler(t *testing.T) {
	db := fnMustOpenMemory(t)
	q := livedb.NewQuery[livedb.Doc, int](livedb.FunctionDef[livedb.Doc, int]{Name: "q"}, nil)
	_, err := q.Call(context.Background(), db, nil)
	require.ErrorIs(t, err, livedb.ErrInvalidFunction)
	m := livedb.NewMutation[livedb.Doc, int](livedb.FunctionDef[livedb.Doc, int]{Name: "m"}, nil)
	_, err = m.Call(context.Background(), db, nil)
	require.ErrorIs(t, err, livedb.ErrInvalidFunction)
}

func TestMutationFunction_Call_ArgumentError(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		_, err := fnInsertWorkflow.Call(context.Background(), db, fnTaskArgs{Task: "t", Status: "done"})
		var ae *livedb.ArgumentError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "workflows:insert", ae.Function)
		var ve *v.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, ".status", ve.Path)
		var re *livedb.ReturnsError
		assert.False(t, errors.As(err, &re), "an argument error is not a returns error")
		assert.Contains(t, err.Error(), "ArgumentValidationError")
		assert.Empty(t, mustCollect(t, db, "workflows"), "nothing is written")
	})
}

func TestQueryFunction_Call_ArgumentErrorNestedPath(t *testing.T) {
	db := fnMustOpenMemory(t)
	f := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, bool]{
		Name: "nested",
		Args: v.Object(v.Fields{"filters": v.Array(v.Object(v.Fields{"status": v.String()}))}),
	}, func(q *livedb.QueryCtx, _ livedb.Doc) (bool, error) { return true, nil })
	_, err := f.Call(context.Background(), db, livedb.Doc{"filters": []any{
		map[string]any{"status": "ok"},
		map[string]any{"status": int64(3)},
	}})
	var ve *v.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ".filters[1].status", ve.Path)

	_, err = f.Call(context.Background(), db, livedb.Doc{"filters": []any{}, "extra": true})
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "extra", ve.Field, "an extra argument is refused")
}

func TestFunction_Run_ArgumentIDOfOtherTable(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		wf := mustInsertWorkflow(t, db, "t", "pending")
		var session livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			session, err = m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "planner", "status": "pending"})
			return err
		})
		get := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, livedb.Doc]{
			Name: "workflows:get",
			Args: v.Object(v.Fields{"id": v.ID("workflows")}),
		}, func(q *livedb.QueryCtx, a livedb.Doc) (livedb.Doc, error) {
			d, _, err := q.DB.Get(livedb.ID(a["id"].(string)))
			return d, err
		})
		got, err := get.Call(context.Background(), db, livedb.Doc{"id": string(wf)})
		require.NoError(t, err)
		assert.Equal(t, "t", got["task"])

		_, err = get.Call(context.Background(), db, livedb.Doc{"id": string(session)})
		var ae *livedb.ArgumentError
		require.ErrorAs(t, err, &ae, "an ID of agentSessions is not a v.id(\"workflows\")")
		var ve *v.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, ".id", ve.Path)
	})
}

func TestQueryFunction_Call_ReturnsError(t *testing.T) {
	db := fnMustOpenMemory(t)
	f := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, livedb.Doc]{
		Name:    "shape",
		Args:    v.Object(v.Fields{}),
		Returns: v.Object(v.Fields{"items": v.Array(v.Object(v.Fields{"n": v.Float64()}))}),
	}, func(q *livedb.QueryCtx, _ livedb.Doc) (livedb.Doc, error) {
		return livedb.Doc{"items": []any{map[string]any{"n": 1.0}, map[string]any{"n": "two"}}}, nil
	})
	_, err := f.Call(context.Background(), db, livedb.Doc{})
	var re *livedb.ReturnsError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "shape", re.Function)
	var ve *v.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ".items[1].n", ve.Path)
	var ae *livedb.ArgumentError
	assert.False(t, errors.As(err, &ae), "a returns error is not an argument error")
	assert.Contains(t, err.Error(), "ReturnsValidationError")
}

func TestQueryFunction_Call_ReturnsAnyIsNotChecked(t *testing.T) {
	db := fnMustOpenMemory(t)
	f := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, any]{Name: "any", Returns: v.Any()},
		func(q *livedb.QueryCtx, _ livedb.Doc) (any, error) { return complex(1, 2), nil })
	got, err := f.Call(context.Background(), db, nil)
	require.NoError(t, err)
	assert.Equal(t, complex(1, 2), got)
}

// fnResult is a struct result of a function.
type fnResult struct {
	ID    livedb.ID `json:"id"`
	Count int       `json:"count"`
	Note  *string   `json:"note"`
}

func TestQueryFunction_Call_ReturnsGoValues(t *testing.T) {
	db := fnMustOpenMemory(t)
	wf := mustInsertWorkflow(t, db, "t", "pending")
	type ref = livedb.Ref[fnResult]
	cases := []struct {
		name    string
		returns v.Validator
		result  any
		wantErr bool
	}{
		{"int as float64", v.Float64(), 3, false},
		{"int as int64", v.Int64(), 3, false},
		{"int64 is not float64", v.Float64(), int64(3), true},
		{"float64 is not int64", v.Int64(), 3.0, true},
		{"ID", v.ID("workflows"), wf, false},
		{"Ref", v.ID("workflows"), ref(wf), false},
		{"ID of a missing table", v.ID("agentSessions"), wf, true},
		{"struct", v.Object(v.Fields{"id": v.ID("workflows"), "count": v.Float64(), "note": v.Optional(v.String())}), fnResult{ID: wf, Count: 2}, false},
		{"struct with a wrong field", v.Object(v.Fields{"id": v.ID("workflows"), "count": v.String(), "note": v.Optional(v.String())}), fnResult{ID: wf}, true},
		{"slice of structs", v.Array(v.Object(v.Fields{"id": v.String(), "count": v.Float64(), "note": v.Optional(v.String())})), []fnResult{{ID: "a"}, {ID: "b", Count: 1}}, false},
		{"nil slice is an empty array", v.Array(v.String()), []string(nil), false},
		{"nil pointer is null", v.Null(), (*fnResult)(nil), false},
		{"nil is null", v.Nullable(v.String()), nil, false},
		{"nil is not a string", v.String(), nil, true},
		{"Doc", v.Object(v.Fields{"a": v.Int64()}), livedb.Doc{"a": int64(1)}, false},
		{"[]Doc", v.Array(v.Object(v.Fields{"a": v.Int64()})), []livedb.Doc{{"a": int64(1)}, {"a": 1.5}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, any]{Name: "r", Returns: tc.returns},
				func(q *livedb.QueryCtx, _ livedb.Doc) (any, error) { return tc.result, nil })
			_, err := f.Call(context.Background(), db, nil)
			if tc.wantErr {
				var re *livedb.ReturnsError
				require.ErrorAs(t, err, &re)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestMutationFunction_Call_ReturnsErrorDiscardsWrites(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		f := livedb.NewMutation(livedb.FunctionDef[livedb.Doc, livedb.ID]{Name: "wrong", Returns: v.ID("agentSessions")},
			func(m *livedb.MutationCtx, _ livedb.Doc) (livedb.ID, error) {
				return m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending"})
			})
		_, err := f.Call(context.Background(), db, nil)
		var re *livedb.ReturnsError
		require.ErrorAs(t, err, &re)
		assert.Empty(t, mustCollect(t, db, "workflows"))
	})
}

func TestFunction_Auth_Identity(t *testing.T) {
	db := fnMustOpenMemory(t)
	whoQ := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, *livedb.Identity]{Name: "whoami"},
		func(q *livedb.QueryCtx, _ livedb.Doc) (*livedb.Identity, error) { return q.Auth(), nil })
	whoM := livedb.NewMutation(livedb.FunctionDef[livedb.Doc, *livedb.Identity]{Name: "whoamiM"},
		func(m *livedb.MutationCtx, _ livedb.Doc) (*livedb.Identity, error) { return m.Auth(), nil })
	id := &livedb.Identity{
		TokenIdentifier: "https://auth.example|user1",
		Subject:         "user1",
		Issuer:          "https://auth.example",
		Email:           "u@example.com",
		Claims:          map[string]any{"role": "admin"},
	}
	ctx := livedb.WithIdentity(context.Background(), id)

	got, err := whoQ.Call(ctx, db, nil)
	require.NoError(t, err)
	assert.Same(t, id, got)
	got, err = whoM.Call(ctx, db, nil)
	require.NoError(t, err)
	assert.Same(t, id, got)

	got, err = whoQ.Call(context.Background(), db, nil)
	require.NoError(t, err)
	assert.Nil(t, got, "no identity reads as nil")
	got, err = whoM.Call(context.Background(), db, nil)
	require.NoError(t, err)
	assert.Nil(t, got)

	// The identity reaches nested calls and subscriptions too.
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		got, err := whoQ.Run(m.Query(), nil)
		if err == nil && got != id {
			t.Errorf("nested query saw %v", got)
		}
		return err
	})
	require.NoError(t, err)
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (string, error) {
		if q.Auth() == nil {
			return "", nil
		}
		return q.Auth().Subject, nil
	})
	require.NoError(t, err)
	defer sub.Close()
	assert.Equal(t, "user1", mustRecv(t, sub.Updates(), testWait, "the first update").Value)
}

func TestQueryFunction_Run_SameSnapshot(t *testing.T) {
	// Memory only: the test commits while the query's snapshot is open.
	db := fnMustOpenMemory(t)
	mustInsertWorkflow(t, db, "a", "pending")
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		before, err := fnCountWorkflows.Run(q, struct{}{})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		wg.Go(func() { mustInsertWorkflow(t, db, "b", "pending") })
		wg.Wait()
		after, err := fnCountWorkflows.Run(q, struct{}{})
		if err != nil {
			return err
		}
		assert.Equal(t, 1, before)
		assert.Equal(t, 1, after, "a nested query reads the caller's snapshot")
		return nil
	})
	require.NoError(t, err)
	n, err := fnCountWorkflows.Call(context.Background(), db, struct{}{})
	require.NoError(t, err)
	assert.Equal(t, 2, n, "a new call reads a new snapshot")
}

func TestQueryFunction_Run_InQueryFunction(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		mustInsertWorkflow(t, db, "a", "pending")
		mustInsertWorkflow(t, db, "b", "pending")
		outer := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, []uint64]{Name: "outer"},
			func(q *livedb.QueryCtx, _ livedb.Doc) ([]uint64, error) {
				n, err := fnCountWorkflows.Run(q, struct{}{})
				return []uint64{uint64(n), q.DB.Timestamp()}, err
			})
		got, err := outer.Call(context.Background(), db, nil)
		require.NoError(t, err)
		assert.Equal(t, []uint64{2, db.LastTimestamp()}, got)
	})
}

func TestMutationFunction_Run_QuerySeesPendingWrites(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		mustInsertWorkflow(t, db, "a", "pending")
		f := livedb.NewMutation(livedb.FunctionDef[livedb.Doc, []int]{Name: "m"},
			func(m *livedb.MutationCtx, _ livedb.Doc) ([]int, error) {
				before, err := fnCountWorkflows.Run(m.Query(), struct{}{})
				if err != nil {
					return nil, err
				}
				if _, err := fnInsertWorkflow.Run(m, fnTaskArgs{Task: "b", Status: "pending"}); err != nil {
					return nil, err
				}
				after, err := fnCountWorkflows.Run(m.Query(), struct{}{})
				return []int{before, after}, err
			})
		got, err := f.Call(context.Background(), db, nil)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2}, got)
		assert.Len(t, mustCollect(t, db, "workflows"), 2)
	})
}

func TestMutationFunction_Run_FailingNestedRollsBackOnlyItsWrites(t *testing.T) {
	errNested := errors.New("nested failure")
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		existing := mustInsertWorkflow(t, db, "existing", "pending")
		doomed := mustInsertWorkflow(t, db, "doomed", "pending")
		// The nested mutation inserts, patches a document the parent
		// inserted, patches and deletes existing documents, then fails.
		nested := livedb.NewMutation(livedb.FunctionDef[livedb.ID, livedb.Doc]{Name: "nested"},
			func(m *livedb.MutationCtx, parentDoc livedb.ID) (livedb.Doc, error) {
				if _, err := m.DB.Insert("workflows", livedb.Doc{"task": "nested", "status": "pending"}); err != nil {
					return nil, err
				}
				if err := m.DB.Patch(parentDoc, livedb.Doc{"task": "changed by nested"}); err != nil {
					return nil, err
				}
				if err := m.DB.Patch(existing, livedb.Doc{"status": "in_progress", "step": 2}); err != nil {
					return nil, err
				}
				if err := m.DB.Delete(doomed); err != nil {
					return nil, err
				}
				return nil, errNested
			})
		var parentDoc livedb.ID
		var insideAfter []livedb.Doc
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			parentDoc, err = m.DB.Insert("workflows", livedb.Doc{"task": "parent", "status": "pending"})
			if err != nil {
				return err
			}
			if err := m.DB.Patch(existing, livedb.Doc{"step": 1}); err != nil {
				return err
			}
			if _, err := nested.Run(m, parentDoc); !errors.Is(err, errNested) {
				t.Errorf("nested.Run = %v, want errNested", err)
			}
			// Inside the parent, the nested writes are already gone.
			insideAfter, err = m.DB.Query("workflows").Collect()
			if err != nil {
				return err
			}
			// The parent keeps writing after the failure.
			_, err = m.DB.Insert("workflows", livedb.Doc{"task": "parent2", "status": "in_progress"})
			return err
		})
		tasks := func(docs []livedb.Doc) map[string]livedb.Doc {
			out := map[string]livedb.Doc{}
			for _, d := range docs {
				out[d["task"].(string)] = d
			}
			return out
		}
		in := tasks(insideAfter)
		assert.Len(t, in, 3)
		assert.Contains(t, in, "doomed")
		assert.NotContains(t, in, "nested")

		got := tasks(mustCollect(t, db, "workflows"))
		require.Len(t, got, 4, "existing, doomed, parent, parent2")
		assert.Contains(t, got, "parent", "the parent's insert stays and its nested patch is undone")
		assert.Contains(t, got, "parent2")
		assert.Contains(t, got, "doomed", "the nested delete is undone")
		assert.NotContains(t, got, "nested")
		assert.Equal(t, "pending", got["existing"]["status"], "the nested patch is undone")
		assert.Equal(t, 1.0, got["existing"]["step"], "the parent's patch stays")
	})
}

func TestMutationFunction_Run_SucceedingNestedKeepsWrites(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			id, err := fnInsertWorkflow.Run(m, fnTaskArgs{Task: "n1", Status: "pending"})
			if err != nil {
				return err
			}
			if _, err := fnInsertWorkflow.Run(m, fnTaskArgs{Task: "bad", Status: "nope"}); err == nil {
				t.Error("invalid nested args accepted")
			}
			return m.DB.Patch(id, livedb.Doc{"status": "in_progress"})
		})
		docs := mustCollect(t, db, "workflows")
		require.Len(t, docs, 1)
		assert.Equal(t, "in_progress", docs[0]["status"])
	})
}

func TestMutationFunction_Run_NestedReturnsErrorRollsBack(t *testing.T) {
	db := fnMustOpenMemory(t)
	nested := livedb.NewMutation(livedb.FunctionDef[livedb.Doc, string]{Name: "n", Returns: v.Float64()},
		func(m *livedb.MutationCtx, _ livedb.Doc) (string, error) {
			_, err := m.DB.Insert("workflows", livedb.Doc{"task": "nested", "status": "pending"})
			return "not a number", err
		})
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := nested.Run(m, nil)
		var re *livedb.ReturnsError
		if !errors.As(err, &re) {
			t.Errorf("nested.Run = %v, want a ReturnsError", err)
		}
		_, err = m.DB.Insert("workflows", livedb.Doc{"task": "parent", "status": "pending"})
		return err
	})
	docs := mustCollect(t, db, "workflows")
	require.Len(t, docs, 1)
	assert.Equal(t, "parent", docs[0]["task"])
}

func TestRegistry_CallPublic(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		internal := livedb.NewMutation(livedb.FunctionDef[fnTaskArgs, livedb.ID]{
			Name: "workflows:internalInsert", Args: fnTaskArgsValidator(), Internal: true,
		}, func(m *livedb.MutationCtx, a fnTaskArgs) (livedb.ID, error) {
			return m.DB.Insert("workflows", livedb.Doc{"task": a.Task, "status": a.Status})
		})
		reg, err := livedb.NewRegistry(fnInsertWorkflow, fnCountWorkflows, internal)
		require.NoError(t, err)
		assert.Equal(t, []string{"workflows:count", "workflows:insert"}, reg.Names())
		ctx := context.Background()

		id, err := reg.CallPublic(ctx, db, "workflows:insert", livedb.Doc{"task": "t", "status": "pending"})
		require.NoError(t, err)
		assert.IsType(t, livedb.ID(""), id)
		n, err := reg.CallPublic(ctx, db, "workflows:count", livedb.Doc{})
		require.NoError(t, err)
		assert.Equal(t, 1, n)

		_, err = reg.CallPublic(ctx, db, "workflows:internalInsert", livedb.Doc{"task": "t", "status": "pending"})
		require.ErrorIs(t, err, livedb.ErrInternalFunction)
		assert.Contains(t, err.Error(), "workflows:internalInsert")
		_, err = reg.CallPublic(ctx, db, "workflows:nope", livedb.Doc{})
		require.ErrorIs(t, err, livedb.ErrUnknownFunction)
		assert.Contains(t, err.Error(), "workflows:nope")

		_, err = reg.CallPublic(ctx, db, "workflows:insert", livedb.Doc{"task": 1.0, "status": "pending"})
		var ae *livedb.ArgumentError
		require.ErrorAs(t, err, &ae)
		var ve *v.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, ".task", ve.Path)
		assert.Len(t, mustCollect(t, db, "workflows"), 1, "refused calls write nothing")

		// Trusted code still runs the internal function directly.
		_, err = internal.Call(ctx, db, fnTaskArgs{Task: "t2", Status: "pending"})
		require.NoError(t, err)
		assert.Len(t, mustCollect(t, db, "workflows"), 2)
	})
}

func TestNewRegistry_DuplicateName(t *testing.T) {
	again := livedb.NewQuery(livedb.FunctionDef[struct{}, int]{Name: "workflows:count"},
		func(q *livedb.QueryCtx, _ struct{}) (int, error) { return 0, nil })
	_, err := livedb.NewRegistry(fnCountWorkflows, again)
	require.ErrorIs(t, err, livedb.ErrInvalidFunction)
	assert.Contains(t, err.Error(), "workflows:count")
}

// fnMustOpenMemory opens a memory database with agentSchema, checked and
// closed when the test ends.
func fnMustOpenMemory(t *testing.T) *livedb.DB {
	t.Helper()
	db := livedbtest.New(t, agentSchema())
	return db
}
