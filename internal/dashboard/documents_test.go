package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// pageReply mirrors a page of the API, documents decoded from
// Convex-JSON.
type pageReply struct {
	Timestamp      string            `json:"timestamp"`
	Page           []json.RawMessage `json:"page"`
	IsDone         bool              `json:"isDone"`
	ContinueCursor string            `json:"continueCursor"`
}

// docs decodes the page's documents from Convex-JSON.
func (p *pageReply) docs(t *testing.T) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(p.Page))
	for i, raw := range p.Page {
		x, err := v.JSONToConvex(raw)
		require.NoError(t, err, "document %s", raw)
		out[i] = x.(map[string]any)
	}
	return out
}

// texts returns the text field of each document of a page.
func texts(t *testing.T, p *pageReply) []string {
	t.Helper()
	var out []string
	for _, d := range p.docs(t) {
		out = append(out, d["text"].(string))
	}
	return out
}

// mustTasks inserts n tasks t0..t(n-1), done when i is odd, priority i.
func mustTasks(t *testing.T, db *livedb.DB, n int) []livedb.ID {
	t.Helper()
	docs := make([]livedb.Doc, n)
	for i := range docs {
		docs[i] = livedb.Doc{"text": fmt.Sprintf("t%d", i), "done": i%2 == 1, "priority": float64(i), "n": int64(i) << 40}
	}
	return mustInsert(t, db, "tasks", docs...)
}

func TestHandler_Documents_Pages(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 7)
	var pages [][]string
	cursor := ""
	for i := 0; ; i++ {
		require.Less(t, i, 5, "the pages never end")
		var p pageReply
		f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "tasks", "numItems": 3, "cursor": cursor}, http.StatusOK, &p)
		assert.NotEmpty(t, p.Timestamp)
		pages = append(pages, texts(t, &p))
		if p.IsDone {
			break
		}
		cursor = p.ContinueCursor
	}
	assert.Equal(t, [][]string{{"t0", "t1", "t2"}, {"t3", "t4", "t5"}, {"t6"}}, pages)

	var desc pageReply
	f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "tasks", "order": "desc", "numItems": 2}, http.StatusOK, &desc)
	assert.Equal(t, []string{"t6", "t5"}, texts(t, &desc))

	var all pageReply
	f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "tasks"}, http.StatusOK, &all)
	assert.Len(t, all.Page, 7, "the default page size is 50")
}

func TestHandler_Documents_IndexRange(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 10)
	for _, tc := range []struct {
		name  string
		index string
		rng   []map[string]any
		order string
		want  []string
	}{
		{"eq", "by_done", []map[string]any{{"field": "done", "op": "eq", "value": true}}, "", []string{"t1", "t3", "t5", "t7", "t9"}},
		{"eq then range", "by_done_priority", []map[string]any{
			{"field": "done", "op": "eq", "value": false},
			{"field": "priority", "op": "gt", "value": 2},
			{"field": "priority", "op": "lte", "value": 8},
		}, "desc", []string{"t8", "t6", "t4"}},
		{"Int64 bound", "by_n", []map[string]any{
			{"field": "n", "op": "gte", "value": json.RawMessage(int64JSON(7 << 40))},
		}, "", []string{"t7", "t8", "t9"}},
		{"by_id", "by_id", nil, "", nil}, // every document, by _id: checked by count below
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pageReply
			f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "tasks", "index": tc.index, "range": tc.rng, "order": tc.order}, http.StatusOK, &p)
			if tc.want == nil {
				assert.Len(t, p.Page, 10)
				return
			}
			assert.Equal(t, tc.want, texts(t, &p))
		})
	}
}

// int64JSON returns the Convex-JSON of an Int64.
func int64JSON(n int64) string {
	b, err := v.ConvexToJSON(n)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestHandler_Documents_ConvexJSON checks that Int64 and bytes reach the
// page in Convex-JSON, which the page shows as 5n and hex.
func TestHandler_Documents_ConvexJSON(t *testing.T) {
	f := mustFixture(t)
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "x", "done": false, "priority": 0.5, "n": int64(-5), "blob": []byte{1, 2, 255}})
	var p pageReply
	f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "tasks"}, http.StatusOK, &p)
	require.Len(t, p.Page, 1)
	raw := string(p.Page[0])
	assert.Contains(t, raw, `"n":{"$integer":"+/////////8="}`)
	assert.Contains(t, raw, `"blob":{"$bytes":"AQL/"}`)
	assert.Contains(t, raw, `"priority":0.5`)
	d := p.docs(t)[0]
	assert.Equal(t, int64(-5), d["n"])
	assert.Equal(t, []byte{1, 2, 255}, d["blob"])
}

func TestHandler_Documents_BadInput(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 3)
	for _, tc := range []struct {
		name       string
		body       any
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"not JSON", `{"table": `, 400, "bad_request", "request body"},
		{"unknown field", map[string]any{"table": "tasks", "limit": 3}, 400, "bad_request", `unknown field "limit"`},
		{"no table", map[string]any{}, 400, "bad_request", "names no table"},
		{"bad order", map[string]any{"table": "tasks", "order": "up"}, 400, "bad_request", `not "up"`},
		{"too many items", map[string]any{"table": "tasks", "numItems": 5000}, 400, "bad_request", "numItems is 1 to 1000"},
		{"range without index", map[string]any{"table": "tasks", "range": []map[string]any{{"field": "done", "op": "eq", "value": true}}}, 400, "bad_request", "needs an index"},
		{"bad op", map[string]any{"table": "tasks", "index": "by_done", "range": []map[string]any{{"field": "done", "op": "ne", "value": true}}}, 400, "bad_request", `not "ne"`},
		{"no value", map[string]any{"table": "tasks", "index": "by_done", "range": []map[string]any{{"field": "done", "op": "eq"}}}, 400, "bad_request", "no value"},
		{"bad Convex-JSON", map[string]any{"table": "tasks", "index": "by_n", "range": []map[string]any{{"field": "n", "op": "eq", "value": map[string]any{"$integer": "xx"}}}}, 400, "bad_value", `range term 0 (field "n")`},
		{"unknown index", map[string]any{"table": "tasks", "index": "by_nope"}, 404, "index_not_found", "by_nope"},
		{"fields out of order", map[string]any{"table": "tasks", "index": "by_done_priority", "range": []map[string]any{{"field": "priority", "op": "eq", "value": 1}}}, 400, "invalid_index_range", "by_done_priority"},
		{"undeclared table", map[string]any{"table": "nope"}, 404, "table_not_found", "nope"},
		{"bad cursor", map[string]any{"table": "tasks", "cursor": "garbage"}, 400, "invalid_query", "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := f.do(t, "POST", "/api/documents", "Bearer "+testKey, tc.body)
			require.Equal(t, tc.wantStatus, status, "answered %s", body)
			var e apiErr
			require.NoError(t, json.Unmarshal(body, &e), "answered %s", body)
			assert.Equal(t, tc.wantCode, e.Error.Code, "answered %s", body)
			assert.Contains(t, e.Error.Message, tc.wantMsg)
		})
	}
}

func TestHandler_Live_UpdatesAfterCommit(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 4) // t1 and t3 are done
	s := f.mustStream(t, "POST", "/api/live", map[string]any{
		"table": "tasks", "index": "by_done", "order": "desc",
		"range": []map[string]any{{"field": "done", "op": "eq", "value": true}},
	})
	page := func(ev event) []string {
		t.Helper()
		require.Equal(t, "page", ev.Name, "event %s", ev.Data)
		var p pageReply
		require.NoError(t, json.Unmarshal(ev.Data, &p))
		return texts(t, &p)
	}
	assert.Equal(t, []string{"t3", "t1"}, page(s.mustNext(t, "the first page")))

	// A write outside the range sends nothing; the next one inside does.
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "not done", "done": false, "priority": 9.0})
	ids := mustInsert(t, f.db, "tasks", livedb.Doc{"text": "done now", "done": true, "priority": 9.0})
	assert.Equal(t, []string{"done now", "t3", "t1"}, page(s.mustNext(t, "the page after an insert in the range")))

	err := f.db.Mutation(t.Context(), func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[0]) })
	require.NoError(t, err)
	assert.Equal(t, []string{"t3", "t1"}, page(s.mustNext(t, "the page after a delete")))
}

func TestHandler_Live_RefusesBadQueryBeforeStreaming(t *testing.T) {
	f := mustFixture(t)
	status, body, hdr := f.do(t, "POST", "/api/live", "Bearer "+testKey, map[string]any{"table": "tasks", "index": "by_nope"})
	assert.Equal(t, http.StatusNotFound, status, "answered %s", body)
	assert.Contains(t, hdr.Get("Content-Type"), "application/json")
	assert.Contains(t, string(body), "by_nope")
}

func TestHandler_Live_EndsWhenDBCloses(t *testing.T) {
	f := mustFixture(t)
	s := f.mustStream(t, "POST", "/api/live", map[string]any{"table": "tasks"})
	s.mustNext(t, "the first page")
	require.NoError(t, f.db.Close())
	ev := s.mustNext(t, "the end event")
	assert.Equal(t, "end", ev.Name)
	assert.Contains(t, string(ev.Data), "closed")
}

// changeReply mirrors a change of the feed.
type changeReply struct {
	Timestamp string          `json:"timestamp"`
	Op        string          `json:"op"`
	Table     string          `json:"table"`
	ID        string          `json:"id"`
	Old       json.RawMessage `json:"old"`
	New       json.RawMessage `json:"new"`
}

// mustChanges reads "changes" events until n changes came.
func mustChanges(t *testing.T, s *eventStream, n int) []changeReply {
	t.Helper()
	var out []changeReply
	for len(out) < n {
		ev := s.mustNext(t, fmt.Sprintf("change %d of %d", len(out)+1, n))
		require.Equal(t, "changes", ev.Name, "event %s", ev.Data)
		var batch struct {
			Changes []changeReply `json:"changes"`
		}
		require.NoError(t, json.Unmarshal(ev.Data, &batch))
		out = append(out, batch.Changes...)
	}
	require.Len(t, out, n, "more changes than written")
	return out
}

func TestHandler_Changes_Stream(t *testing.T) {
	f := mustFixture(t)
	mustTasks(t, f.db, 2) // before the stream: not shown
	s := f.mustStream(t, "GET", "/api/changes", nil)
	start := s.mustNext(t, "the start event")
	require.Equal(t, "start", start.Name)
	assert.Contains(t, string(start.Data), fmt.Sprint(f.db.LastTimestamp()), "the feed starts after the last commit")

	ids := mustInsert(t, f.db, "tasks", livedb.Doc{"text": "new", "done": false, "priority": 1.0, "n": int64(7)})
	err := f.db.Mutation(t.Context(), func(m *livedb.MutationCtx) error {
		if err := m.DB.Patch(ids[0], livedb.Doc{"done": true}); err != nil {
			return err
		}
		_, err := m.DB.Insert("notes", livedb.Doc{"body": "b"})
		return err
	})
	require.NoError(t, err)
	err = f.db.Mutation(t.Context(), func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[0]) })
	require.NoError(t, err)

	got := mustChanges(t, s, 4)
	ops := []string{got[0].Op + " " + got[0].Table, got[1].Op + " " + got[1].Table, got[2].Op + " " + got[2].Table, got[3].Op + " " + got[3].Table}
	assert.Equal(t, []string{"insert tasks", "update tasks", "insert notes", "delete tasks"}, ops)
	assert.Equal(t, string(ids[0]), got[0].ID)
	assert.Equal(t, "null", string(got[0].Old))
	assert.Contains(t, string(got[0].New), `"n":{"$integer":"BwAAAAAAAAA="}`)
	assert.Contains(t, string(got[1].Old), `"done":false`)
	assert.Contains(t, string(got[1].New), `"done":true`)
	assert.Equal(t, got[1].Timestamp, got[2].Timestamp, "one mutation, one timestamp")
	assert.Equal(t, "null", string(got[3].New))
}

func TestHandler_Changes_TableFilterAndAfter(t *testing.T) {
	f := mustFixture(t)
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "old", "done": false, "priority": 1.0})
	before := f.db.LastTimestamp()
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "kept", "done": false, "priority": 1.0})
	mustInsert(t, f.db, "notes", livedb.Doc{"body": "note"})

	s := f.mustStream(t, "GET", fmt.Sprintf("/api/changes?after=%d&table=tasks", before), nil)
	require.Equal(t, "start", s.mustNext(t, "the start event").Name)
	got := mustChanges(t, s, 1)
	assert.Contains(t, string(got[0].New), `"text":"kept"`, "the feed resumes after the given commit")
	mustInsert(t, f.db, "notes", livedb.Doc{"body": "skipped"})
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "next", "done": false, "priority": 1.0})
	got = mustChanges(t, s, 1)
	assert.Contains(t, string(got[0].New), `"text":"next"`, "other tables are left out")

	status, body, _ := f.do(t, "GET", "/api/changes?after=yesterday", "Bearer "+testKey, nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, string(body), "after is a commit timestamp")
}

func TestHandler_Changes_BatchesBounded(t *testing.T) {
	f := mustFixture(t)
	s := f.mustStream(t, "GET", "/api/changes", nil)
	require.Equal(t, "start", s.mustNext(t, "the start event").Name)
	docs := make([]livedb.Doc, 250)
	for i := range docs {
		docs[i] = livedb.Doc{"body": strings.Repeat("x", i)}
	}
	mustInsert(t, f.db, "notes", docs...)
	n := 0
	for n < len(docs) {
		ev := s.mustNext(t, "a batch of changes")
		var batch struct {
			Changes []changeReply `json:"changes"`
		}
		require.NoError(t, json.Unmarshal(ev.Data, &batch))
		assert.LessOrEqual(t, len(batch.Changes), 100, "one event carries at most 100 changes")
		n += len(batch.Changes)
	}
	assert.Equal(t, len(docs), n)
}

// TestHandler_Documents_PageBytesBounded fills a table with large
// documents: a page stops after about 4 MiB, however many documents were
// asked for, and the next page goes on from there.
func TestHandler_Documents_PageBytesBounded(t *testing.T) {
	f := mustFixture(t)
	big := strings.Repeat("x", 256<<10)
	for range 4 { // 24 documents of 256 KiB, 6 MiB in all
		docs := make([]livedb.Doc, 6)
		for i := range docs {
			docs[i] = livedb.Doc{"body": big}
		}
		mustInsert(t, f.db, "notes", docs...)
	}
	var first pageReply
	f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "notes", "numItems": 1000}, http.StatusOK, &first)
	assert.False(t, first.IsDone)
	assert.Less(t, len(first.Page), 24, "the page stopped early")
	size := 0
	for _, d := range first.Page {
		size += len(d)
	}
	assert.LessOrEqual(t, size, 4<<20+300<<10, "at most one document past 4 MiB")
	var rest pageReply
	f.MustAPI(t, "POST", "/api/documents", map[string]any{"table": "notes", "numItems": 1000, "cursor": first.ContinueCursor}, http.StatusOK, &rest)
	assert.True(t, rest.IsDone)
	assert.Len(t, rest.Page, 24-len(first.Page), "the next page goes on where the first stopped")
}

// TestHandler_Changes_BatchBytesBounded writes large documents in one
// commit: an event carries about 1 MiB of them, not all.
func TestHandler_Changes_BatchBytesBounded(t *testing.T) {
	f := mustFixture(t)
	s := f.mustStream(t, "GET", "/api/changes", nil)
	require.Equal(t, "start", s.mustNext(t, "the start event").Name)
	docs := make([]livedb.Doc, 12)
	for i := range docs {
		docs[i] = livedb.Doc{"body": strings.Repeat("y", 256<<10)}
	}
	mustInsert(t, f.db, "notes", docs...)
	n := 0
	for n < len(docs) {
		ev := s.mustNext(t, "a batch of changes")
		var batch struct {
			Changes []changeReply `json:"changes"`
		}
		require.NoError(t, json.Unmarshal(ev.Data, &batch))
		assert.LessOrEqual(t, len(batch.Changes), 4, "one event carries about 1 MiB of documents")
		n += len(batch.Changes)
	}
	assert.Equal(t, len(docs), n)
}

func TestHandler_Changes_EndsWhenDBCloses(t *testing.T) {
	f := mustFixture(t)
	s := f.mustStream(t, "GET", "/api/changes", nil)
	require.Equal(t, "start", s.mustNext(t, "the start event").Name)
	require.NoError(t, f.db.Close())
	ev := s.mustNext(t, "the end event")
	assert.Equal(t, "end", ev.Name)
	assert.Contains(t, string(ev.Data), "closed")
}

// TestHandler_Changes_Pruned asks for the changes after a commit that the
// retention (1ns here) pruned: the stream says so with an "error" event
// (changes_pruned) and ends, rather than skipping changes silently.
func TestHandler_Changes_Pruned(t *testing.T) {
	db, err := livedb.OpenMemory(taskSchema(), &livedb.Options{ChangeRetention: time.Nanosecond})
	require.NoError(t, err)
	f := mustServe(t, db, nil)
	mustInsert(t, db, "notes", livedb.Doc{"body": "first"})
	first := db.LastTimestamp()
	for range 300 { // the feed is pruned every 256 commits
		mustInsert(t, db, "notes", livedb.Doc{"body": "more"})
	}
	s := f.mustStream(t, "GET", fmt.Sprintf("/api/changes?after=%d", first), nil)
	require.Equal(t, "start", s.mustNext(t, "the start event").Name)
	ev := s.mustNext(t, "the error event")
	require.Equal(t, "error", ev.Name, "event %s", ev.Data)
	var e apiErr
	require.NoError(t, json.Unmarshal(ev.Data, &e))
	assert.Equal(t, "changes_pruned", e.Error.Code)
	assert.Contains(t, e.Error.Message, "pruned")
	select {
	case _, ok := <-s.events:
		assert.False(t, ok, "the stream ends after the error")
	case <-time.After(testWait):
		t.Fatalf("waiting for the stream to end: still open after %v", testWait)
	}
}
