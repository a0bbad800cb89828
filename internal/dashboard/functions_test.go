package dashboard_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

func TestHandler_Functions_List(t *testing.T) {
	f := mustFixture(t)
	var got struct {
		Functions []struct {
			Name     string `json:"name"`
			Kind     string `json:"kind"`
			Internal bool   `json:"internal"`
			Args     string `json:"args"`
			Returns  string `json:"returns"`
		} `json:"functions"`
	}
	f.MustAPI(t, "GET", "/api/functions", nil, http.StatusOK, &got)
	require.Len(t, got.Functions, 5)
	byName := map[string]int{}
	for i, fn := range got.Functions {
		byName[fn.Name] = i
	}
	add := got.Functions[byName["tasks:add"]]
	assert.Equal(t, "mutation", add.Kind)
	assert.False(t, add.Internal)
	assert.Contains(t, add.Args, "text: v.string()")
	assert.Equal(t, `v.id("tasks")`, add.Returns)
	assert.Equal(t, "query", got.Functions[byName["tasks:count"]].Kind)
	assert.True(t, got.Functions[byName["tasks:purge"]].Internal)
	assert.Empty(t, got.Functions[byName["util:echo"]].Args, "an unvalidated function has no args validator")
}

// runReply mirrors the answer of POST /api/run.
type runReply struct {
	Kind      string          `json:"kind"`
	Value     json.RawMessage `json:"value"`
	Timestamp string          `json:"timestamp"`
}

func TestHandler_Run_PublicFunctions(t *testing.T) {
	f := mustFixture(t)
	var added runReply
	f.MustAPI(t, "POST", "/api/run", map[string]any{"name": "tasks:add", "args": map[string]any{"text": "from the form", "priority": 2}}, http.StatusOK, &added)
	assert.Equal(t, "mutation", added.Kind)
	var id string
	require.NoError(t, json.Unmarshal(added.Value, &id))
	err := f.db.Query(t.Context(), func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Get(livedb.ID(id))
		require.True(t, ok, "the mutation's document %s", id)
		assert.Equal(t, "from the form", d["text"])
		return err
	})
	require.NoError(t, err)

	var count runReply
	f.MustAPI(t, "POST", "/api/run", map[string]any{"name": "tasks:count", "args": map[string]any{"done": false}}, http.StatusOK, &count)
	assert.Equal(t, "query", count.Kind)
	assert.JSONEq(t, int64JSON(1), string(count.Value), "an Int64 result travels as Convex-JSON")

	var total runReply
	f.MustAPI(t, "POST", "/api/run", map[string]any{"name": "tasks:total"}, http.StatusOK, &total)
	assert.Equal(t, "1", string(total.Value), "a Go int that the returns validator calls v.Float64() is a Float64")

	// Values that JSON cannot say go both ways as Convex-JSON.
	var echo runReply
	args := json.RawMessage(`{"n": {"$integer": "BwAAAAAAAAA="}, "b": {"$bytes": "AQI="}, "f": 1.5}`)
	f.MustAPI(t, "POST", "/api/run", map[string]any{"name": "util:echo", "args": args}, http.StatusOK, &echo)
	assert.JSONEq(t, string(args), string(echo.Value))

	var noArgs runReply
	f.MustAPI(t, "POST", "/api/run", map[string]any{"name": "util:echo"}, http.StatusOK, &noArgs)
	assert.JSONEq(t, `{}`, string(noArgs.Value), "absent arguments are {}")
}

func TestHandler_Run_Refusals(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 2)
	for _, tc := range []struct {
		name       string
		body       any
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"internal", map[string]any{"name": "tasks:purge"}, 403, "internal_function", "tasks:purge"},
		{"unknown", map[string]any{"name": "tasks:nope"}, 404, "function_not_found", "tasks:nope"},
		{"no name", map[string]any{}, 400, "bad_request", "no function name"},
		{"args not an object", map[string]any{"name": "tasks:add", "args": []int{1}}, 400, "bad_request", "not a Array"},
		{"args not Convex-JSON", map[string]any{"name": "tasks:add", "args": map[string]any{"$bad": 1}}, 400, "bad_value", "arguments of tasks:add"},
		{"wrong argument type", map[string]any{"name": "tasks:add", "args": map[string]any{"text": 5, "priority": 1}}, 400, "argument_validation", ".text"},
		{"missing argument", map[string]any{"name": "tasks:add", "args": map[string]any{"text": "x"}}, 400, "argument_validation", "priority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := f.do(t, "POST", "/api/run", "Bearer "+testKey, tc.body)
			require.Equal(t, tc.wantStatus, status, "answered %s", body)
			var e apiErr
			require.NoError(t, json.Unmarshal(body, &e), "answered %s", body)
			assert.Equal(t, tc.wantCode, e.Error.Code, "answered %s", body)
			assert.Contains(t, e.Error.Message, tc.wantMsg)
		})
	}
	var p pageReply
	f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "tasks"}, http.StatusOK, &p)
	assert.Len(t, p.Page, 2, "no refused call wrote or deleted anything")
}

func TestHandler_Run_NilRegistry(t *testing.T) {
	f := mustFixtureRegistry(t, nil)
	var got struct {
		Functions []any `json:"functions"`
	}
	f.MustAPI(t, "GET", "/api/functions", nil, http.StatusOK, &got)
	assert.Empty(t, got.Functions)
	assert.NotNil(t, got.Functions, "an empty list, not null")
	status, body, _ := f.do(t, "POST", "/api/run", "Bearer "+testKey, map[string]any{"name": "tasks:add"})
	assert.Equal(t, http.StatusNotFound, status, "answered %s", body)
}

func TestHandler_Health_Counters(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 1)
	mustTasks(t, f.db, 1)
	s := f.mustStream(t, "POST", "/api/live", map[string]any{"table": "tasks"})
	s.mustNext(t, "the first page")
	var h struct {
		Now           int64             `json:"now"`
		Timestamp     string            `json:"timestamp"`
		Commits       uint64            `json:"commits"`
		Groups        uint64            `json:"groups"`
		Subscriptions int               `json:"subscriptions"`
		Conflicts     map[string]uint64 `json:"conflicts"`
	}
	f.MustAPI(t, "GET", "/api/health", nil, http.StatusOK, &h)
	assert.Equal(t, uint64(2), h.Commits)
	assert.GreaterOrEqual(t, h.Groups, uint64(1))
	assert.Equal(t, 1, h.Subscriptions, "the live query's subscription")
	assert.NotNil(t, h.Conflicts)
	assert.Positive(t, h.Now)
	assert.NotEmpty(t, h.Timestamp)
}
