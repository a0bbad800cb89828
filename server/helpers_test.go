package server_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/server"
	"github.com/livedb-go/livedb/v"
)

// testWait bounds every wait of a test for something another goroutine or
// process does. It is not a speed limit: it turns a lost message into a
// failure that names what was awaited instead of a hang.
const testWait = 30 * time.Second

// testSchema is the tasks table the test functions use.
func testSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"text":  v.String(),
			"n":     v.Optional(v.Int64()),
			"blob":  v.Optional(v.Bytes()),
			"owner": v.Optional(v.String()),
		})).Index("by_text", "text"),
	})
}

type addArgs struct {
	Text string `json:"text"`
	N    *int64 `json:"n,omitempty"`
	Blob []byte `json:"blob,omitempty"`
}

type pageArgs struct {
	PaginationOpts livedb.PaginationOptions `json:"paginationOpts"`
}

type bigArgs struct {
	Size int `json:"size"`
}

// testFunctions are the functions the tests serve: tasks:add, list,
// count, page, whoami, fail, boom, big, latest, and the internal
// tasks:secret.
func testFunctions() []livedb.Registerable {
	add := livedb.NewMutation(livedb.FunctionDef[addArgs, livedb.ID]{
		Name:    "tasks:add",
		Args:    v.Object(v.Fields{"text": v.String(), "n": v.Optional(v.Int64()), "blob": v.Optional(v.Bytes())}),
		Returns: v.ID("tasks"),
	}, func(m *livedb.MutationCtx, a addArgs) (livedb.ID, error) {
		doc := livedb.Doc{"text": a.Text}
		if a.N != nil {
			doc["n"] = *a.N
		}
		if a.Blob != nil {
			doc["blob"] = a.Blob
		}
		if id := m.Auth(); id != nil {
			doc["owner"] = id.Subject
		}
		return m.DB.Insert("tasks", doc)
	})
	list := livedb.NewQuery(livedb.FunctionDef[struct{}, []livedb.Doc]{
		Name: "tasks:list", Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) ([]livedb.Doc, error) {
		return q.DB.Query("tasks").Collect()
	})
	count := livedb.NewQuery(livedb.FunctionDef[struct{}, int]{
		Name: "tasks:count", Args: v.Object(v.Fields{}), Returns: v.Float64(),
	}, func(q *livedb.QueryCtx, _ struct{}) (int, error) {
		docs, err := q.DB.Query("tasks").Collect()
		return len(docs), err
	})
	page := livedb.NewQuery(livedb.FunctionDef[pageArgs, livedb.PaginationResult[livedb.Doc]]{
		Name: "tasks:page", Args: v.Object(v.Fields{"paginationOpts": v.PaginationOpts()}),
	}, func(q *livedb.QueryCtx, a pageArgs) (livedb.PaginationResult[livedb.Doc], error) {
		// By text, so that a test can insert inside a page.
		return q.DB.Query("tasks").WithIndex("by_text", nil).Paginate(a.PaginationOpts)
	})
	whoami := livedb.NewQuery(livedb.FunctionDef[struct{}, *string]{
		Name: "tasks:whoami", Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) (*string, error) {
		if id := q.Auth(); id != nil {
			return &id.Subject, nil
		}
		return nil, nil
	})
	fail := livedb.NewQuery(livedb.FunctionDef[struct{}, int]{
		Name: "tasks:fail", Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) (int, error) {
		return 0, errors.New("no luck today")
	})
	boom := livedb.NewQuery(livedb.FunctionDef[struct{}, int]{
		Name: "tasks:boom", Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) (int, error) {
		panic("kaboom")
	})
	big := livedb.NewQuery(livedb.FunctionDef[bigArgs, string]{
		Name: "tasks:big", Args: v.Object(v.Fields{"size": v.Float64()}),
	}, func(q *livedb.QueryCtx, a bigArgs) (string, error) {
		docs, err := q.DB.Query("tasks").Collect()
		if err != nil {
			return "", err
		}
		return strings.Repeat("x", a.Size) + strings.Repeat("+", len(docs)), nil
	})
	secret := livedb.NewMutation(livedb.FunctionDef[struct{}, string]{
		Name: "tasks:secret", Internal: true, Args: v.Object(v.Fields{}),
	}, func(m *livedb.MutationCtx, _ struct{}) (string, error) {
		_, err := m.DB.Insert("tasks", livedb.Doc{"text": "written by an internal function"})
		return "the secret", err
	})
	latest := livedb.NewQuery(livedb.FunctionDef[struct{}, *string]{
		Name: "tasks:latest", Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) (*string, error) {
		doc, ok, err := q.DB.Query("tasks").Order(livedb.Desc).First()
		if err != nil || !ok {
			return nil, err
		}
		s := doc["text"].(string)
		return &s, nil
	})
	return []livedb.Registerable{add, list, count, page, whoami, fail, boom, big, secret, latest}
}

// testAdminKey is the admin key of the test servers that have one.
const testAdminKey = "test-admin-key-0123456789"

// testAuthenticator accepts the tokens "token:<subject>".
func testAuthenticator(_ context.Context, token string) (*livedb.Identity, error) {
	sub, ok := strings.CutPrefix(token, "token:")
	if !ok || sub == "" {
		return nil, errors.New("token not recognized: want token:<subject>")
	}
	return &livedb.Identity{Subject: sub, Issuer: "test", TokenIdentifier: "test|" + sub}, nil
}

// mustOpenMemory opens a memory database with the test schema, closed at
// the end of the test.
func mustOpenMemory(t testing.TB) *livedb.DB {
	t.Helper()
	db, err := livedb.OpenMemory(testSchema())
	if err != nil {
		t.Fatalf("OpenMemory: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// mustRegistry returns the registry of the test functions.
func mustRegistry(t testing.TB) *livedb.Registry {
	t.Helper()
	reg, err := livedb.NewRegistry(testFunctions()...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

// MustServe starts a server of db and the test functions on a loopback
// httptest server, closed at the end of the test. opts.Authenticator
// defaults to testAuthenticator.
func MustServe(t testing.TB, db *livedb.DB, opts server.Options) (*server.Server, *httptest.Server) {
	t.Helper()
	if opts.Authenticator == nil {
		opts.Authenticator = testAuthenticator
	}
	srv, err := server.New(db, mustRegistry(t), opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return srv, hs
}

// startHTTP serves srv on a loopback httptest server, closed at the end
// of the test.
func startHTTP(t testing.TB, srv *server.Server) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return hs
}

// mustCollect returns the tasks.
func mustCollect(t testing.TB, db *livedb.DB) []livedb.Doc {
	t.Helper()
	var docs []livedb.Doc
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) (err error) {
		docs, err = q.DB.Query("tasks").Collect()
		return err
	})
	if err != nil {
		t.Fatalf("collect tasks: %v", err)
	}
	return docs
}

// mustAdd inserts a task per text.
func mustAdd(t testing.TB, db *livedb.DB, texts ...string) {
	t.Helper()
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for _, s := range texts {
			if _, err := m.DB.Insert("tasks", livedb.Doc{"text": s}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("add tasks: %v", err)
	}
}

// benchDB opens a database of the named backend ("memory" or "bbolt",
// durable: each commit fsyncs) for a benchmark.
func benchDB(b *testing.B, backend string) *livedb.DB {
	b.Helper()
	var db *livedb.DB
	var err error
	if backend == "bbolt" {
		db, err = livedb.Open(filepath.Join(b.TempDir(), "bench.db"), testSchema(), nil)
	} else {
		db, err = livedb.OpenMemory(testSchema())
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}
