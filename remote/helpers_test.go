package remote_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/remote"
	"github.com/livedb-go/livedb/server"
	"github.com/livedb-go/livedb/v"
)

// testWait bounds every wait of a test for another goroutine or the
// server. It is not a speed limit: it turns a lost message into a
// failure that names what was awaited instead of a hang.
const testWait = 30 * time.Second

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

// testFunctions: tasks:add, list, count, page, whoami, fail, latest, size, and the
// internal tasks:secret.
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
		return q.DB.Query("tasks").WithIndex("by_text", nil).Collect()
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
	// size has no returns validator: its Go int travels as an Int64.
	size := livedb.NewQuery(livedb.FunctionDef[struct{}, int]{
		Name: "tasks:size", Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) (int, error) {
		docs, err := q.DB.Query("tasks").Collect()
		return len(docs), err
	})
	return []livedb.Registerable{add, list, count, page, whoami, fail, secret, latest, size}
}

// testAuthenticator accepts the tokens "token:<subject>".
func testAuthenticator(_ context.Context, token string) (*livedb.Identity, error) {
	sub, ok := strings.CutPrefix(token, "token:")
	if !ok || sub == "" {
		return nil, errors.New("token not recognized: want token:<subject>")
	}
	return &livedb.Identity{Subject: sub, Issuer: "test", TokenIdentifier: "test|" + sub}, nil
}

func mustOpenMemory(t testing.TB) *livedb.DB {
	t.Helper()
	db, err := livedb.OpenMemory(testSchema())
	if err != nil {
		t.Fatalf("OpenMemory: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustRegistry(t testing.TB) *livedb.Registry {
	t.Helper()
	reg, err := livedb.NewRegistry(testFunctions()...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

// MustServe serves db and the test functions on a loopback httptest
// server (with testAuthenticator), closed at the end of the test.
func MustServe(t testing.TB, db *livedb.DB) *httptest.Server {
	t.Helper()
	srv, err := server.New(db, mustRegistry(t), server.Options{Authenticator: testAuthenticator})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return hs
}

// MustDial dials url with opts (fast backoff by default), closed at the
// end of the test.
func MustDial(t testing.TB, url string, opts *remote.Options) *remote.Client {
	t.Helper()
	if opts == nil {
		opts = &remote.Options{}
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 10*time.Millisecond, 200*time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	c, err := remote.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// forEachBackend runs body against a remote Client of a server of a new
// memory database, and against Local of another.
func forEachBackend(t *testing.T, body func(t *testing.T, b remote.Backend, db *livedb.DB)) {
	t.Run("remote", func(t *testing.T) {
		db := mustOpenMemory(t)
		hs := MustServe(t, db)
		body(t, MustDial(t, hs.URL, nil), db)
	})
	t.Run("local", func(t *testing.T) {
		db := mustOpenMemory(t)
		b := remote.Local(db, mustRegistry(t))
		t.Cleanup(func() { _ = b.Close() })
		body(t, b, db)
	})
}

// mustNext returns the next update of s, failing the test after testWait.
func mustNext(t testing.TB, s *remote.Subscription, what string) remote.Update {
	t.Helper()
	select {
	case u, ok := <-s.Updates():
		if !ok {
			t.Fatalf("%s: the subscription's channel closed", what)
		}
		return u
	case <-time.After(testWait):
		t.Fatalf("%s: no update within %v", what, testWait)
	}
	return remote.Update{}
}

// mustNextValue waits for an update without error and returns its value.
func mustNextValue(t testing.TB, s *remote.Subscription, what string) any {
	t.Helper()
	u := mustNext(t, s, what)
	if u.Err != nil {
		t.Fatalf("%s: update error: %v", what, u.Err)
	}
	return u.Value
}

// mustWaitValue reads updates until one has value want (updates coalesce,
// so an intermediate one may be skipped).
func mustWaitValue(t testing.TB, s *remote.Subscription, want any, what string) remote.Update {
	t.Helper()
	deadline := time.After(testWait)
	var last remote.Update
	for {
		select {
		case u, ok := <-s.Updates():
			if !ok {
				t.Fatalf("%s: the subscription's channel closed; last update %+v", what, last)
			}
			last = u
			if u.Err == nil && v.Equal(u.Value, want) {
				return u
			}
		case <-deadline:
			t.Fatalf("%s: no update with value %v within %v; last update %+v", what, want, testWait, last)
		}
	}
}

// mustCount returns the number of tasks in db.
func mustCount(t testing.TB, db *livedb.DB) int {
	t.Helper()
	var n int
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		docs, err := q.DB.Query("tasks").Collect()
		n = len(docs)
		return err
	})
	if err != nil {
		t.Fatalf("count tasks: %v", err)
	}
	return n
}

// listenAt listens on addr, retrying while the port is still being
// released by the server that used it.
func listenAt(t testing.TB, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen on %s again: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the port, not an assertion
	}
}

// served is a server of db on a listener of the test's choosing, so that
// a test can stop it and start another at the same address.
type served struct {
	srv *server.Server
	hs  *http.Server
}

func serveOn(t testing.TB, db *livedb.DB, ln net.Listener) *served {
	t.Helper()
	srv, err := server.New(db, mustRegistry(t), server.Options{Authenticator: testAuthenticator})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	s := &served{srv: srv, hs: &http.Server{Handler: srv}}
	go func() { _ = s.hs.Serve(ln) }()
	t.Cleanup(s.stop)
	return s
}

func (s *served) stop() {
	_ = s.srv.Close()
	_ = s.hs.Close()
}
