package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/remote"
)

// fakeServer answers each client message of the sync protocol with what
// script returns for it: text messages, or binary ones prefixed "bin:".
func fakeServer(t *testing.T, script func(msg map[string]any) []string) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx := r.Context()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var msg map[string]any
			if err := json.Unmarshal(b, &msg); err != nil {
				t.Errorf("the client sent a message that is not JSON: %q", b)
				return
			}
			for _, out := range script(msg) {
				typ := websocket.MessageText
				if s, ok := strings.CutPrefix(out, "bin:"); ok {
					typ, out = websocket.MessageBinary, s
				}
				if conn.Write(ctx, typ, []byte(out)) != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(hs.Close)
	return hs
}

// ts0 and ts1 are encoded timestamps 0 and 1.
const (
	ts0 = "AAAAAAAAAAA="
	ts1 = "AQAAAAAAAAA="
)

// syncedTransition brings the client to query set 1 with mods.
func syncedTransition(mods string) string {
	return `{"type":"Transition","startVersion":{"querySet":0,"ts":"` + ts0 + `","identity":0},"endVersion":{"querySet":1,"ts":"` + ts1 + `","identity":0},"modifications":[` + mods + `]}`
}

func TestDial_HostileServer(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name    string
		answer  []string // to the client's ModifyQuerySet
		wantErr string
	}{
		{"too large", []string{`{"type":"Ping","pad":"` + strings.Repeat("x", 4*limit) + `"}`}, "larger than 1024 bytes"},
		{"not JSON", []string{`<html>`}, "not a JSON object"},
		{"binary", []string{"bin:{}"}, "binary message"},
		{"unknown type", []string{`{"type":"Surprise"}`}, `unknown message type "Surprise"`},
		{"no type", []string{`{}`}, "no type"},
		{"wrong start version", []string{`{"type":"Transition","startVersion":{"querySet":7,"ts":"` + ts0 + `","identity":0},"endVersion":{"querySet":1,"ts":"` + ts1 + `","identity":0},"modifications":[]}`}, "starts at version"},
		{"version past the client's", []string{`{"type":"Transition","startVersion":{"querySet":0,"ts":"` + ts0 + `","identity":0},"endVersion":{"querySet":9,"ts":"` + ts1 + `","identity":0},"modifications":[]}`}, "past what the client sent"},
		{"bad timestamp", []string{`{"type":"Transition","startVersion":{"querySet":0,"ts":"!!","identity":0},"endVersion":{"querySet":1,"ts":"` + ts1 + `","identity":0},"modifications":[]}`}, "not the base64 of 8 bytes"},
		{"time goes back", []string{`{"type":"Transition","startVersion":{"querySet":0,"ts":"` + ts1 + `","identity":0},"endVersion":{"querySet":1,"ts":"` + ts0 + `","identity":0},"modifications":[]}`}, "before startVersion"},
		{"missing version", []string{`{"type":"Transition","modifications":[]}`}, "needs querySet, ts and identity"},
		{"bad value", []string{syncedTransition(`{"type":"QueryUpdated","queryId":1,"value":{"$integer":"xx"}}`)}, "not Convex-JSON"},
		{"negative query id", []string{syncedTransition(`{"type":"QueryUpdated","queryId":-1,"value":1}`)}, "Transition message with fields of the wrong type"},
		{"unknown modification", []string{syncedTransition(`{"type":"QueryExploded","queryId":1}`)}, "unknown state modification"},
		{"fatal error", []string{`{"type":"FatalError","error":"you did something"}`}, "the server ended the session: you did something"},
		{"deep nesting", []string{syncedTransition(`{"type":"QueryUpdated","queryId":1,"value":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)}, "not Convex-JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := fakeServer(t, func(msg map[string]any) []string {
				if msg["type"] == "ModifyQuerySet" {
					return tc.answer
				}
				return nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			c, err := remote.Dial(ctx, hs.URL, &remote.Options{MaxMessageBytes: limit})
			if err == nil {
				_ = c.Close()
				t.Fatalf("Dial succeeded, want an error containing %q", tc.wantErr)
			}
			if !errors.Is(err, remote.ErrProtocol) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Dial err = %v, want ErrProtocol and %q", err, tc.wantErr)
			}
		})
	}
}

func TestClient_Subscribe_HostileMessageMidSession(t *testing.T) {
	hs := fakeServer(t, func(msg map[string]any) []string {
		if msg["type"] != "ModifyQuerySet" {
			return nil
		}
		switch msg["baseVersion"] {
		case 0.0:
			return []string{syncedTransition("")}
		case 1.0: // the Add of the first subscription: its result
			return []string{`{"type":"Transition","startVersion":{"querySet":1,"ts":"` + ts1 + `","identity":0},"endVersion":{"querySet":2,"ts":"` + ts1 + `","identity":0},"modifications":[{"type":"QueryUpdated","queryId":1,"value":{"$integer":"BwAAAAAAAAA="},"journal":null}]}`}
		}
		// The Add of the second: nonsense.
		return []string{`{"type":"MutationResponse","requestId":"seven"}`}
	})
	c := MustDial(t, hs.URL, nil)
	sub, err := c.Subscribe(context.Background(), "x:y", nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if got := mustNextValue(t, sub, "the fake result"); got != int64(7) {
		t.Fatalf("value = %#v, want int64 7", got)
	}
	// A second subscription makes the server answer with nonsense; it
	// waits for a result that never comes, until the test ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = c.Subscribe(ctx, "x:z", nil) }()
	u := mustNext(t, sub, "the refused message")
	if !errors.Is(u.Err, remote.ErrProtocol) || !strings.Contains(u.Err.Error(), "MutationResponse") {
		t.Errorf("update err = %v, want ErrProtocol naming the MutationResponse", u.Err)
	}
}

func TestClient_Subscribe_SilentServer(t *testing.T) {
	hs := fakeServer(t, func(msg map[string]any) []string {
		if msg["type"] != "ModifyQuerySet" {
			return nil
		}
		if msg["baseVersion"] == 0.0 {
			return []string{syncedTransition("")}
		}
		// The result of the subscription, and then silence: no Ping.
		return []string{`{"type":"Transition","startVersion":{"querySet":1,"ts":"` + ts1 + `","identity":0},"endVersion":{"querySet":2,"ts":"` + ts1 + `","identity":0},"modifications":[{"type":"QueryUpdated","queryId":1,"value":"hello","journal":null}]}`}
	})
	// The idle timeout is what the test waits for, not a speed limit.
	c := MustDial(t, hs.URL, &remote.Options{IdleTimeout: 200 * time.Millisecond, MinBackoff: time.Hour})
	sub, err := c.Subscribe(context.Background(), "x:y", nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if got := mustNextValue(t, sub, "the fake result"); got != "hello" {
		t.Fatalf("value = %#v, want hello", got)
	}
	u := mustNext(t, sub, "the silence")
	if !errors.Is(u.Err, remote.ErrDisconnected) || !strings.Contains(u.Err.Error(), "IdleTimeout") {
		t.Errorf("update err = %v, want ErrDisconnected naming Options.IdleTimeout", u.Err)
	}
}

func TestBackend_Call_ArgumentsNotConvexValues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b remote.Backend, db *livedb.DB) {
		ctx := context.Background()
		_, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": make(chan int)})
		if err == nil || !strings.Contains(err.Error(), "arguments of tasks:add") {
			t.Errorf("a channel as an argument: err = %v, want an error naming the arguments of tasks:add", err)
		}
		if _, err := b.Subscribe(ctx, "tasks:list", 42); err == nil || !strings.Contains(err.Error(), "arguments of tasks:list") {
			t.Errorf("42 as the arguments: err = %v, want an error naming the arguments of tasks:list", err)
		}
	})
}
