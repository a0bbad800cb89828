package dashboard_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/dashboard"
)

// apiEndpoints lists every endpoint of the API, with a body that would be
// accepted with the key.
var apiEndpoints = []struct {
	method, path string
	body         any
}{
	{"GET", "/api/tables", nil},
	{"POST", "/api/documents", map[string]any{"table": "tasks"}},
	{"POST", "/api/live", map[string]any{"table": "tasks"}},
	{"GET", "/api/changes", nil},
	{"GET", "/api/functions", nil},
	{"POST", "/api/run", map[string]any{"name": "tasks:add", "args": map[string]any{"text": "x", "priority": 1}}},
	{"GET", "/api/health", nil},
	{"GET", "/api/nope", nil},
}

func TestHandler_API_RefusedWithoutKey(t *testing.T) {
	f := mustFixture(t)
	for _, ep := range apiEndpoints {
		for _, auth := range []string{"", "Bearer wrong-key", "Bearer " + testKey + "x", "Basic " + testKey, testKey, "Bearer"} {
			t.Run(ep.method+" "+ep.path+" auth="+auth, func(t *testing.T) {
				status, body, hdr := f.do(t, ep.method, ep.path, auth, ep.body)
				require.Equal(t, http.StatusUnauthorized, status, "answered %s", body)
				assert.Equal(t, `Bearer realm="livedb dashboard"`, hdr.Get("WWW-Authenticate"))
				var e apiErr
				require.NoError(t, json.Unmarshal(body, &e), "answered %s", body)
				assert.Equal(t, "unauthorized", e.Error.Code)
				assert.Contains(t, e.Error.Message, "admin key")
				assert.NotContains(t, string(body), testKey, "the answer never echoes the key")
			})
		}
	}
	// The refused run did not run: nothing was written.
	var tables struct {
		Tables []struct {
			Name      string `json:"name"`
			Documents int64  `json:"documents"`
		} `json:"tables"`
	}
	f.MustAPI(t, "GET", "/api/tables", nil, http.StatusOK, &tables)
	for _, tb := range tables.Tables {
		assert.Zero(t, tb.Documents, "table %s", tb.Name)
	}
}

func TestHandler_API_AcceptedWithKey(t *testing.T) {
	f := mustFixture(t)
	for _, ep := range apiEndpoints {
		if ep.path == "/api/live" || ep.path == "/api/changes" {
			continue // streams: TestHandler_Live_*, TestHandler_Changes_*
		}
		want := http.StatusOK
		if ep.path == "/api/nope" {
			want = http.StatusNotFound
		}
		f.MustAPI(t, ep.method, ep.path, ep.body, want, nil)
	}
}

func TestNew_EmptyKey_RefusesEverything(t *testing.T) {
	db, err := livedb.OpenMemory(taskSchema())
	require.NoError(t, err)
	defer db.Close()
	h := dashboard.New(db, testFunctions(t), dashboard.Options{})
	for _, path := range []string{"/", "/app.js", "/api/tables", "/api/health"} {
		for _, auth := range []string{"", "Bearer", "Bearer "} {
			req := httptest.NewRequest("GET", path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusForbidden, rec.Code, "%s with %q", path, auth)
			assert.Contains(t, rec.Body.String(), "no admin key is configured", "%s", path)
		}
	}
}

func TestHandler_Page_ServedWithoutKey(t *testing.T) {
	f := mustFixture(t)
	for _, p := range []struct{ path, contentType, contains string }{
		{"/", "text/html", `<script src="app.js"`},
		{"/app.js", "text/javascript", "Authorization"},
		{"/style.css", "text/css", "--accent"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		status, body, hdr := f.do(t, "GET", p.path, "", nil)
		require.Equal(t, http.StatusOK, status, "%s", p.path)
		assert.Contains(t, hdr.Get("Content-Type"), p.contentType, "%s", p.path)
		assert.Contains(t, string(body), p.contains, "%s", p.path)
		assert.Contains(t, hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'", "%s", p.path)
		assert.Equal(t, "no-store", hdr.Get("Cache-Control"), "%s", p.path)
		assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"), "%s", p.path)
	}
	status, _, _ := f.do(t, "GET", "/secret.txt", "", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// TestHandler_Page_RelativeURLs checks that the page names its files and
// the API by relative URLs only, so that it works under any prefix.
func TestHandler_Page_RelativeURLs(t *testing.T) {
	absolute := regexp.MustCompile(`(?:src|href|action)="/|(?:fetch|api|stream)\(\s*["'\x60]/|["'\x60]/api/`)
	err := fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile("static/" + path)
		if err != nil {
			return err
		}
		if m := absolute.Find(b); m != nil {
			t.Errorf("static/%s has an absolute URL: %s", path, m)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestHandler_ServeHTTP_Mounts(t *testing.T) {
	db, err := livedb.OpenMemory(taskSchema())
	require.NoError(t, err)
	defer db.Close()
	h := dashboard.New(db, nil, dashboard.Options{AdminKey: testKey})
	get := func(t *testing.T, srv http.Handler, target, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	t.Run("root", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, get(t, h, "/", "").Code)
		assert.Equal(t, http.StatusOK, get(t, h, "/api/health", "Bearer "+testKey).Code)
	})
	t.Run("StripPrefix without slash, bare prefix", func(t *testing.T) {
		rec := get(t, http.StripPrefix("/x/dash", h), "/x/dash", "")
		assert.Equal(t, http.StatusMovedPermanently, rec.Code)
		assert.Equal(t, "/x/dash/", rec.Header().Get("Location"))
	})
	t.Run("StripPrefix with slash", func(t *testing.T) {
		srv := http.StripPrefix("/x/dash/", h)
		rec := get(t, srv, "/x/dash/", "")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Contains(t, rec.Body.String(), "<title>livedb dashboard</title>")
		assert.Equal(t, http.StatusOK, get(t, srv, "/x/dash/api/health", "Bearer "+testKey).Code)
		assert.Equal(t, http.StatusUnauthorized, get(t, srv, "/x/dash/api/health", "").Code)
	})
}

// tablesReply mirrors the answer of GET /api/tables.
type tablesReply struct {
	Timestamp string `json:"timestamp"`
	Counts    struct {
		Through string `json:"through"`
		Current bool   `json:"current"`
	} `json:"counts"`
	Tables []struct {
		Name      string `json:"name"`
		Documents int64  `json:"documents"`
		Validator string `json:"validator"`
		Indexes   []struct {
			Name    string   `json:"name"`
			Fields  []string `json:"fields"`
			Columns []string `json:"columns"`
		} `json:"indexes"`
	} `json:"tables"`
}

func TestHandler_Tables_CountsAndIndexes(t *testing.T) {
	f := mustFixture(t)
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "a", "done": false, "priority": 1.0},
		livedb.Doc{"text": "b", "done": true, "priority": 2.0},
		livedb.Doc{"text": "c", "done": true, "priority": 3.0})
	mustInsert(t, f.db, "notes", livedb.Doc{"body": "hello"})
	var got tablesReply
	f.MustAPI(t, "GET", "/api/tables", nil, http.StatusOK, &got)
	require.Len(t, got.Tables, 2)
	assert.True(t, got.Counts.Current, "no commit since the count")
	assert.Equal(t, got.Timestamp, got.Counts.Through)
	notes, tasks := got.Tables[0], got.Tables[1]
	assert.Equal(t, "notes", notes.Name)
	assert.Equal(t, int64(1), notes.Documents)
	assert.Equal(t, "tasks", tasks.Name)
	assert.Equal(t, int64(3), tasks.Documents)
	assert.Contains(t, tasks.Validator, `text: v.string()`)
	var names []string
	for _, ix := range tasks.Indexes {
		names = append(names, ix.Name)
	}
	assert.Equal(t, []string{"by_creation_time", "by_id", "by_done", "by_done_priority", "by_n"}, names)
	assert.Equal(t, []string{"done", "priority"}, tasks.Indexes[3].Fields)
	assert.Equal(t, []string{"done", "priority", "_creationTime"}, tasks.Indexes[3].Columns)
	assert.Equal(t, []string{"_creationTime"}, tasks.Indexes[0].Columns)
}

func TestHandler_Run_BodyTooLarge(t *testing.T) {
	f := mustFixture(t)
	big := `{"name": "util:echo", "args": {"s": "` + strings.Repeat("x", 2<<20) + `"}}`
	status, body, _ := f.do(t, "POST", "/api/run", "Bearer "+testKey, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, "answered %.200s", body)
	var e apiErr
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, "too_large", e.Error.Code)
}
