package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/remote"
	"github.com/livedb-go/livedb/server"
	"github.com/livedb-go/livedb/v"
)

func TestClient_Subscribe_ServerRestart(t *testing.T) {
	db := mustOpenMemory(t)
	ln := listenAt(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	first := serveOn(t, db, ln)
	ctx := context.Background()
	c := MustDial(t, "http://"+addr, nil)

	count, err := c.Subscribe(ctx, "tasks:count", nil)
	if err != nil {
		t.Fatalf("Subscribe count: %v", err)
	}
	defer count.Close()
	mustWaitValue(t, count, 0.0, "first count")
	for _, s := range []string{"a", "c", "e"} {
		if _, _, err := c.Mutation(ctx, "tasks:add", livedb.Doc{"text": s}); err != nil {
			t.Fatalf("tasks:add: %v", err)
		}
	}
	page, err := c.Subscribe(ctx, "tasks:page", livedb.Doc{"paginationOpts": livedb.Doc{"numItems": 2, "cursor": nil}})
	if err != nil {
		t.Fatalf("Subscribe page: %v", err)
	}
	defer page.Close()
	mustWaitValue(t, count, 3.0, "count before the restart")
	p0, err := remote.Decode[livedb.PaginationResult[livedb.Doc]](mustNextValue(t, page, "first page"))
	if err != nil || len(p0.Page) != 2 {
		t.Fatalf("first page = %v, %v; want a and c", p0.Page, err)
	}

	first.stop()
	u := mustNext(t, count, "the disconnection")
	var te *remote.TransportError
	if !errors.Is(u.Err, remote.ErrDisconnected) || !errors.As(u.Err, &te) || !strings.Contains(u.Err.Error(), addr) {
		t.Fatalf("update after the server stopped: %+v, want an error matching ErrDisconnected that names %s", u, addr)
	}
	// Written while the client is away; "b" falls inside the first page.
	mustAddDirect(t, db, "b")
	serveOn(t, db, listenAt(t, addr))

	mustWaitValue(t, count, 4.0, "count after the restart")
	for {
		u := mustNext(t, page, "page after the restart")
		if u.Err != nil {
			continue // the disconnection
		}
		p, err := remote.Decode[livedb.PaginationResult[livedb.Doc]](u.Value)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		var texts []string
		for _, d := range p.Page {
			texts = append(texts, d["text"].(string))
		}
		if got := strings.Join(texts, ","); got != "a,b,c" || p.ContinueCursor != p0.ContinueCursor {
			t.Fatalf("page after the restart = %s ending at %q, want a,b,c ending where it did (%q)", got, p.ContinueCursor, p0.ContinueCursor)
		}
		break
	}
	// The session works on: a mutation, and its update.
	if _, _, err := c.Mutation(ctx, "tasks:add", livedb.Doc{"text": "z"}); err != nil {
		t.Fatalf("tasks:add after the restart: %v", err)
	}
	mustWaitValue(t, count, 5.0, "count after a mutation on the new connection")
}

// mustAddDirect inserts a task through the embedded API.
func mustAddDirect(t testing.TB, db *livedb.DB, text string) {
	t.Helper()
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("tasks", livedb.Doc{"text": text})
		return err
	})
	if err != nil {
		t.Fatalf("insert %q: %v", text, err)
	}
}

// relay is a WebSocket proxy in front of a server: it passes messages
// both ways, and cut, when set, decides on each message of the server
// whether to drop it and cut both connections.
type relay struct {
	target string       // the server's ws:// URL base
	http   http.Handler // for the HTTP calls
	cut    atomic.Pointer[func(msg []byte) bool]
	conns  atomic.Int32

	// connected, when set, receives the count of connections after
	// each one is relayed.
	connected chan int32

	mu      sync.Mutex
	cancels []context.CancelFunc // of the open relays
}

// killAll cuts every open connection.
func (rl *relay) killAll() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, cancel := range rl.cancels {
		cancel()
	}
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		rl.http.ServeHTTP(w, r)
		return
	}
	client, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	rl.conns.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rl.mu.Lock()
	rl.cancels = append(rl.cancels, cancel)
	rl.mu.Unlock()
	srv, _, err := websocket.Dial(ctx, rl.target+r.URL.Path, nil)
	if err != nil {
		_ = client.CloseNow()
		return
	}
	if rl.connected != nil {
		rl.connected <- rl.conns.Load()
	}
	go func() {
		defer cancel()
		for {
			typ, b, err := client.Read(ctx)
			if err != nil || srv.Write(ctx, typ, b) != nil {
				return
			}
		}
	}()
	for {
		typ, b, err := srv.Read(ctx)
		if err != nil {
			break
		}
		if cut := rl.cut.Load(); cut != nil && (*cut)(b) {
			break
		}
		if client.Write(ctx, typ, b) != nil {
			break
		}
	}
	cancel()
	_ = client.CloseNow()
	_ = srv.CloseNow()
}

func TestClient_Mutation_ResentAfterLostAnswer(t *testing.T) {
	db := mustOpenMemory(t)
	hs := MustServe(t, db)
	u, _ := url.Parse(hs.URL)
	rl := &relay{target: "ws" + strings.TrimPrefix(hs.URL, "http"), http: httputil.NewSingleHostReverseProxy(u)}
	proxy := httptest.NewServer(rl)
	defer proxy.Close()
	c := MustDial(t, proxy.URL, nil)

	// The server runs the mutation, and its answer is lost with the
	// connection: the client must send it again, and the server must
	// answer it without running it twice.
	var once atomic.Bool
	cut := func(msg []byte) bool {
		return strings.Contains(string(msg), `"MutationResponse"`) && once.CompareAndSwap(false, true)
	}
	rl.cut.Store(&cut)
	ctx := context.Background()
	id, _, err := remote.MutationValue[livedb.ID](ctx, c, "tasks:add", livedb.Doc{"text": "once"})
	if err != nil {
		t.Fatalf("tasks:add: %v", err)
	}
	if !once.Load() {
		t.Fatalf("the relay never cut a MutationResponse")
	}
	if n := rl.conns.Load(); n < 2 {
		t.Fatalf("the client made %d connections, want a reconnection", n)
	}
	if n := mustCount(t, db); n != 1 {
		t.Errorf("the mutation ran %d times, want once (re-sent with its request id and session)", n)
	}
	if docs, err := remote.QueryValue[[]livedb.Doc](ctx, c, "tasks:list", nil); err != nil || len(docs) != 1 || docs[0].ID() != id {
		t.Errorf("tasks:list = %v, %v; want the one task %s", docs, err, id)
	}
}

func TestClient_Mutation_ResentWhileRunning(t *testing.T) {
	db := mustOpenMemory(t)
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	slow := livedb.NewMutation(livedb.FunctionDef[struct{}, string]{Name: "tasks:slow", Args: v.Object(v.Fields{})},
		func(m *livedb.MutationCtx, _ struct{}) (string, error) {
			started <- struct{}{}
			<-release
			_, err := m.DB.Insert("tasks", livedb.Doc{"text": "slow"})
			return "done", err
		})
	reg, err := livedb.NewRegistry(slow)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(db, reg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	u, _ := url.Parse(hs.URL)
	rl := &relay{target: "ws" + strings.TrimPrefix(hs.URL, "http"), http: httputil.NewSingleHostReverseProxy(u), connected: make(chan int32, 4)}
	proxy := httptest.NewServer(rl)
	defer proxy.Close()
	c := MustDial(t, proxy.URL, nil)
	<-rl.connected

	// The connection goes while the mutation runs: the server's run of
	// it ends unanswered, and the client's re-send on the next
	// connection must run it and get its answer.
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Mutation(ctx, "tasks:slow", nil)
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(testWait):
		t.Fatal("the mutation did not start")
	}
	rl.killAll()
	select {
	case <-rl.connected:
	case <-time.After(testWait):
		t.Fatal("the client did not reconnect")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("tasks:slow: %v", err)
	}
	if n := mustCount(t, db); n != 1 {
		t.Errorf("the mutation wrote %d documents, want 1", n)
	}
}
