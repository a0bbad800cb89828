package remote_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/remote"
)

func TestBackend_Query_ConvexValues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		n := int64(1) << 60
		id, _, err := remote.MutationValue[livedb.ID](ctx, b, "tasks:add", addArgs{Text: "ship", N: &n, Blob: []byte{0, 1, 255}})
		if err != nil {
			t.Fatalf("tasks:add: %v", err)
		}
		x, err := b.Query(ctx, "tasks:list", nil)
		if err != nil {
			t.Fatalf("tasks:list: %v", err)
		}
		docs, ok := x.([]any)
		if !ok || len(docs) != 1 {
			t.Fatalf("tasks:list = %#v, want one document", x)
		}
		d := docs[0].(map[string]any)
		if d["_id"] != string(id) || d["text"] != "ship" || d["n"] != n || !bytes.Equal(d["blob"].([]byte), []byte{0, 1, 255}) {
			t.Errorf("document = %#v, want _id %q (a string), text ship, n %d (int64), blob 00 01 ff", d, id, n)
		}
		if _, ok := d["_creationTime"].(float64); !ok {
			t.Errorf("_creationTime = %#v, want a float64", d["_creationTime"])
		}
		raw, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": "second"})
		if _, ok := raw.(string); err != nil || !ok {
			t.Errorf("tasks:add result = %#v (%T), %v; want the ID as a string, as it travels", raw, raw, err)
		}
		if size, err := b.Query(ctx, "tasks:size", nil); err != nil || size != int64(2) {
			t.Errorf("tasks:size = %#v (%T), %v; want int64 2: a Go int without a returns validator is an Int64", size, size, err)
		}
		count, err := remote.QueryValue[int](ctx, b, "tasks:count", livedb.Doc{})
		if err != nil || count != 2 {
			t.Errorf("QueryValue[int](tasks:count) = %d, %v; want 2", count, err)
		}
	})
}

func TestBackend_Mutation_TimestampReflectedBySubscription(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		sub, err := b.Subscribe(ctx, "tasks:count", nil)
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer sub.Close()
		if got := mustNextValue(t, sub, "first result"); got != 0.0 {
			t.Fatalf("first count = %#v, want 0.0", got)
		}
		_, ts, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": "a"})
		if err != nil {
			t.Fatalf("tasks:add: %v", err)
		}
		u := mustWaitValue(t, sub, 1.0, "count after the mutation")
		if u.Timestamp < ts {
			t.Errorf("update timestamp %d is before the mutation's %d", u.Timestamp, ts)
		}
	})
}

func TestBackend_Subscribe_UpdatesInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		sub, err := b.Subscribe(ctx, "tasks:count", nil)
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer sub.Close()
		prev := remote.Update{Value: -1.0}
		const n = 20
		for i := 1; i <= n; i++ {
			if _, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": "t"}); err != nil {
				t.Fatalf("tasks:add %d: %v", i, err)
			}
		}
		for {
			u := mustNext(t, sub, "counts")
			if u.Err != nil {
				t.Fatalf("update error: %v", u.Err)
			}
			if u.Value.(float64) <= prev.Value.(float64) || u.Timestamp < prev.Timestamp {
				t.Fatalf("update %v at %d after %v at %d: not in commit order", u.Value, u.Timestamp, prev.Value, prev.Timestamp)
			}
			prev = u
			if u.Value == float64(n) {
				break
			}
		}
	})
}

func TestBackend_Paginate_StablePageEnds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		for _, s := range []string{"a", "c", "e", "g"} {
			if _, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": s}); err != nil {
				t.Fatalf("tasks:add: %v", err)
			}
		}
		texts := func(p livedb.PaginationResult[livedb.Doc]) string {
			var out []string
			for _, d := range p.Page {
				out = append(out, d["text"].(string))
			}
			return strings.Join(out, ",")
		}
		p1, err := b.Paginate(ctx, "tasks:page", nil, livedb.PaginationOptions{NumItems: 2})
		if err != nil {
			t.Fatalf("page 1: %v", err)
		}
		p2, err := b.Paginate(ctx, "tasks:page", nil, livedb.PaginationOptions{NumItems: 2, Cursor: p1.ContinueCursor})
		if err != nil {
			t.Fatalf("page 2: %v", err)
		}
		if texts(p1) != "a,c" || p1.IsDone || texts(p2) != "e,g" {
			t.Fatalf("pages = %q (done %v), %q; want a,c then e,g", texts(p1), p1.IsDone, texts(p2))
		}
		// A live first page keeps its end at c as documents come in.
		sub, err := b.Subscribe(ctx, "tasks:page", livedb.Doc{"paginationOpts": livedb.Doc{"numItems": 2, "cursor": nil}})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer sub.Close()
		first, err := remote.Decode[livedb.PaginationResult[livedb.Doc]](mustNextValue(t, sub, "first page"))
		if err != nil || texts(first) != "a,c" {
			t.Fatalf("live page = %q, %v; want a,c", texts(first), err)
		}
		if _, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": "b"}); err != nil {
			t.Fatalf("tasks:add b: %v", err)
		}
		grown, err := remote.Decode[livedb.PaginationResult[livedb.Doc]](mustNextValue(t, sub, "page after inserting b"))
		if err != nil || texts(grown) != "a,b,c" || grown.ContinueCursor != first.ContinueCursor {
			t.Fatalf("live page = %q (cursor %q), %v; want a,b,c ending at the same cursor %q", texts(grown), grown.ContinueCursor, err, first.ContinueCursor)
		}
	})
}

func TestBackend_Call_InternalAndUnknownRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		_, _, err := b.Mutation(ctx, "tasks:secret", nil)
		var fe *remote.FunctionError
		if !errors.Is(err, remote.ErrFunctionNotFound) || !errors.As(err, &fe) || fe.Function != "tasks:secret" {
			t.Errorf("internal tasks:secret: err = %v, want a *FunctionError matching ErrFunctionNotFound", err)
		}
		if n := mustCount(t, db); n != 0 {
			t.Errorf("the internal mutation wrote %d documents", n)
		}
		if _, err := b.Query(ctx, "tasks:nope", nil); !errors.Is(err, remote.ErrFunctionNotFound) {
			t.Errorf("Query of an unknown name: err = %v, want ErrFunctionNotFound", err)
		}
		if sub, err := b.Subscribe(ctx, "tasks:nope", nil); !errors.Is(err, remote.ErrFunctionNotFound) {
			t.Errorf("Subscribe to an unknown name: %v, %v; want ErrFunctionNotFound", sub, err)
		}
	})
}

func TestBackend_Call_WrongArgumentTypes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		_, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": 5})
		var fe *remote.FunctionError
		if !errors.As(err, &fe) || errors.Is(err, remote.ErrFunctionNotFound) || !strings.Contains(fe.Message, "text") {
			t.Fatalf("tasks:add with a number as text: err = %v, want a *FunctionError naming the field text", err)
		}
		// A failing query is an update of the subscription, which goes on.
		sub, err := b.Subscribe(ctx, "tasks:fail", nil)
		if err != nil {
			t.Fatalf("Subscribe tasks:fail: %v", err)
		}
		defer sub.Close()
		u := mustNext(t, sub, "tasks:fail")
		if !errors.As(u.Err, &fe) || !strings.Contains(fe.Message, "no luck today") {
			t.Errorf("tasks:fail update err = %v, want the function's error", u.Err)
		}
	})
}

func TestClient_Dial_AuthToken(t *testing.T) {
	db := mustOpenMemory(t)
	hs := MustServe(t, db)
	ctx := context.Background()
	c := MustDial(t, hs.URL, &remote.Options{AuthTokenFunc: func(context.Context) (string, error) { return "token:alice", nil }})
	who, err := remote.QueryValue[string](ctx, c, "tasks:whoami", nil)
	if err != nil || who != "alice" {
		t.Errorf("whoami over HTTP = %q, %v; want alice", who, err)
	}
	sub, err := c.Subscribe(ctx, "tasks:whoami", nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if got := mustNextValue(t, sub, "whoami"); got != "alice" {
		t.Errorf("whoami subscription = %#v, want alice", got)
	}
	if _, _, err := c.Mutation(ctx, "tasks:add", livedb.Doc{"text": "mine"}); err != nil {
		t.Fatalf("tasks:add: %v", err)
	}
	docs, err := remote.QueryValue[[]livedb.Doc](ctx, c, "tasks:list", nil)
	if err != nil || len(docs) != 1 || docs[0]["owner"] != "alice" {
		t.Errorf("tasks:list = %v, %v; want one task owned by alice", docs, err)
	}

	_, err = remote.Dial(ctx, hs.URL, &remote.Options{AuthToken: "wrong"})
	var ae *remote.AuthError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "token not recognized") {
		t.Errorf("Dial with a bad token: err = %v, want an *AuthError with the authenticator's reason", err)
	}
	anon := MustDial(t, hs.URL, nil)
	who2, err := remote.QueryValue[*string](ctx, anon, "tasks:whoami", nil)
	if err != nil || who2 != nil {
		t.Errorf("anonymous whoami = %v, %v; want nil", who2, err)
	}
}

func TestClient_Query_BadTokenOverHTTP(t *testing.T) {
	db := mustOpenMemory(t)
	hs := MustServe(t, db)
	token := "token:bob"
	c := MustDial(t, hs.URL, &remote.Options{AuthTokenFunc: func(context.Context) (string, error) { return token, nil }})
	token = "expired"
	_, err := c.Query(context.Background(), "tasks:whoami", nil)
	var ae *remote.AuthError
	if !errors.As(err, &ae) {
		t.Errorf("Query with a refused token: err = %v, want *AuthError", err)
	}
}

func TestDial_BadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "127.0.0.1:80", "http://"} {
		if _, err := remote.Dial(context.Background(), u, nil); err == nil || !strings.Contains(err.Error(), "remote: Dial") {
			t.Errorf("Dial(%q) err = %v, want a Dial error", u, err)
		}
	}
}

func TestClient_Close_EndsCalls(t *testing.T) {
	db := mustOpenMemory(t)
	hs := MustServe(t, db)
	c := MustDial(t, hs.URL, nil)
	sub, err := c.Subscribe(context.Background(), "tasks:count", nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	mustNextValue(t, sub, "first count")
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok := <-sub.Updates(); ok {
		t.Errorf("the subscription's channel is open after Close")
	}
	if _, _, err := c.Mutation(context.Background(), "tasks:add", livedb.Doc{"text": "x"}); !errors.Is(err, remote.ErrClosed) {
		t.Errorf("Mutation after Close: err = %v, want ErrClosed", err)
	}
}
