package dashboard_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/dashboard"
	"github.com/livedb-go/livedb/v"
)

// testKey is the admin key of the test dashboards.
const testKey = "test-admin-key-0123456789abcdef"

// testWait bounds every wait of a test for something another goroutine
// does (an event of a stream). It is not a speed limit: it turns a lost
// event into a failure that names what was awaited instead of a hang.
const testWait = 30 * time.Second

// testClient sends the tests' requests that are not streams: an answer
// that never ends fails the request after testWait instead of hanging.
var testClient = &http.Client{Timeout: testWait}

// prefix is where the test dashboards are mounted.
const prefix = "/admin"

// taskSchema is the schema of the test databases: Int64, bytes and
// optional fields, and two indexes.
func taskSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"text":     v.String(),
			"done":     v.Boolean(),
			"priority": v.Float64(),
			"n":        v.Optional(v.Int64()),
			"blob":     v.Optional(v.Bytes()),
		})).Index("by_done", "done").
			Index("by_done_priority", "done", "priority").
			Index("by_n", "n"),
		"notes": livedb.DefineTable(v.Object(v.Fields{"body": v.String()})),
	})
}

type addArgs struct {
	Text     string  `json:"text"`
	Priority float64 `json:"priority"`
}

// testFunctions are the functions of the test registry: a public query
// and mutation, and an internal mutation.
func testFunctions(t testing.TB) *livedb.Registry {
	t.Helper()
	add := livedb.NewMutation(livedb.FunctionDef[addArgs, livedb.ID]{
		Name:    "tasks:add",
		Args:    v.Object(v.Fields{"text": v.String(), "priority": v.Float64()}),
		Returns: v.ID("tasks"),
	}, func(m *livedb.MutationCtx, a addArgs) (livedb.ID, error) {
		return m.DB.Insert("tasks", livedb.Doc{"text": a.Text, "done": false, "priority": a.Priority})
	})
	type countArgs struct {
		Done bool `json:"done"`
	}
	count := livedb.NewQuery(livedb.FunctionDef[countArgs, int64]{
		Name:    "tasks:count",
		Args:    v.Object(v.Fields{"done": v.Boolean()}),
		Returns: v.Int64(),
	}, func(q *livedb.QueryCtx, a countArgs) (int64, error) {
		docs, err := q.DB.Query("tasks").WithIndex("by_done", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("done", a.Done)
		}).Collect()
		return int64(len(docs)), err
	})
	// total returns a Go int that its returns validator calls a Float64.
	total := livedb.NewQuery(livedb.FunctionDef[struct{}, int]{
		Name:    "tasks:total",
		Args:    v.Object(v.Fields{}),
		Returns: v.Float64(),
	}, func(q *livedb.QueryCtx, _ struct{}) (int, error) {
		docs, err := q.DB.Query("tasks").Collect()
		return len(docs), err
	})
	echo := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, livedb.Doc]{Name: "util:echo"},
		func(q *livedb.QueryCtx, a livedb.Doc) (livedb.Doc, error) { return a, nil })
	purge := livedb.NewMutation(livedb.FunctionDef[struct{}, int]{Name: "tasks:purge", Internal: true},
		func(m *livedb.MutationCtx, _ struct{}) (int, error) {
			docs, err := m.DB.Query("tasks").Collect()
			if err != nil {
				return 0, err
			}
			for _, d := range docs {
				if err := m.DB.Delete(d["_id"].(livedb.ID)); err != nil {
					return 0, err
				}
			}
			return len(docs), nil
		})
	reg, err := livedb.NewRegistry(add, count, total, echo, purge)
	require.NoError(t, err)
	return reg
}

// fixture is a database and its dashboard, served under prefix.
type fixture struct {
	db  *livedb.DB
	srv *httptest.Server
}

// mustFixture opens a memory database and serves its dashboard with
// testFunctions; both are closed when the test ends.
func mustFixture(t *testing.T) *fixture {
	t.Helper()
	return mustFixtureRegistry(t, testFunctions(t))
}

// mustFixtureRegistry is mustFixture with the functions of reg (nil:
// none).
func mustFixtureRegistry(t *testing.T, reg *livedb.Registry) *fixture {
	t.Helper()
	db, err := livedb.OpenMemory(taskSchema())
	require.NoError(t, err)
	return mustServe(t, db, reg)
}

// mustServe serves the dashboard of db and reg; db is closed when the
// test ends.
func mustServe(t *testing.T, db *livedb.DB, reg *livedb.Registry) *fixture {
	t.Helper()
	t.Cleanup(func() { db.Close() })
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, dashboard.New(db, reg, dashboard.Options{AdminKey: testKey})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{db: db, srv: srv}
}

// url returns the URL of path under the dashboard.
func (f *fixture) url(path string) string { return f.srv.URL + prefix + path }

// do sends a request with the given Authorization header ("" for none)
// and returns the status and body.
func (f *fixture) do(t *testing.T, method, path, auth string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, f.url(path), rd)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := testClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b, res.Header
}

// MustAPI calls the API with the admin key and decodes the JSON answer
// into out, failing the test unless the status is want.
func (f *fixture) MustAPI(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	status, b, _ := f.do(t, method, path, "Bearer "+testKey, body)
	require.Equal(t, want, status, "%s %s answered %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s answered %s", method, path, b)
	}
}

// apiErr is the error body of the API.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// mustInsert inserts documents into table and returns their IDs.
func mustInsert(t testing.TB, db *livedb.DB, table string, docs ...livedb.Doc) []livedb.ID {
	t.Helper()
	var ids []livedb.ID
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		ids = ids[:0]
		for _, d := range docs {
			id, err := m.DB.Insert(table, d)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	require.NoError(t, err)
	return ids
}

// event is one Server-Sent Event.
type event struct {
	Name string
	Data json.RawMessage
}

// eventStream reads the events of a streaming API request.
type eventStream struct {
	events <-chan event
	done   <-chan error // the read loop's end
}

// mustStream starts a streaming request with the admin key and reads its
// events on a goroutine; the request ends when the test does. It fails
// the test unless the answer is 200 and an event stream.
func (f *fixture) mustStream(t *testing.T, method, path string, body any) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.url(path), rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testKey)
	// A stream has no end, so the client has no overall timeout: the
	// answer's header must come within testWait, each event too (mustNext).
	timer := time.AfterFunc(testWait, cancel)
	res, err := http.DefaultClient.Do(req)
	timer.Stop()
	require.NoError(t, err, "%s %s: no answer", method, path)
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("%s %s answered %d: %s", method, path, res.StatusCode, b)
	}
	require.Equal(t, "text/event-stream; charset=utf-8", res.Header.Get("Content-Type"))
	events := make(chan event, 64)
	done := make(chan error, 1)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 16<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					select {
					case events <- ev:
					case <-ctx.Done():
						done <- ctx.Err()
						return
					}
				}
				ev = event{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.Data = json.RawMessage(line[len("data: "):])
			}
		}
		done <- sc.Err()
	}()
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
		<-done
	})
	return &eventStream{events: events, done: done}
}

// mustNext returns the next event, failing the test (naming what) when
// the stream ends or nothing comes within testWait.
func (s *eventStream) mustNext(t *testing.T, what string) event {
	t.Helper()
	timer := time.NewTimer(testWait)
	defer timer.Stop()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatalf("waiting for %s: the stream ended", what)
		}
		return ev
	case <-timer.C:
		t.Fatalf("waiting for %s: no event after %v", what, testWait)
	}
	panic("unreachable")
}
