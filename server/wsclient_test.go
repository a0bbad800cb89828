package server_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// wsClient speaks the sync protocol by hand, for the tests of what the
// Convex client never sends. It checks every Transition as the Convex
// client does (its start version must be the version the client holds)
// and keeps the latest result of each query.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn

	version  serverVersion
	results  map[float64]map[string]any // queryId -> QueryUpdated or QueryFailed
	querySet int
	identity int
	nextID   int
}

type serverVersion struct {
	QuerySet float64 `json:"querySet"`
	TS       string  `json:"ts"`
	Identity float64 `json:"identity"`
}

// syncURL is the WebSocket URL of a test server's sync endpoint.
func syncURL(httpURL string) string {
	return "ws" + strings.TrimPrefix(httpURL, "http") + "/api/1.51.0/sync"
}

// dialWS opens a session; header may carry an Origin.
func dialWS(t testing.TB, httpURL string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, syncURL(httpURL), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(64 << 20)
	c := &wsClient{t: t, conn: conn, results: map[float64]map[string]any{}, version: serverVersion{TS: encodeTestTS(0)}}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return c, resp, nil
}

// mustDialWS opens a session and sends Connect with sessionID.
func mustDialWS(t testing.TB, httpURL, sessionID string) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, httpURL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.send(map[string]any{"type": "Connect", "sessionId": sessionID, "connectionCount": 0, "lastCloseReason": nil, "clientTs": 0})
	return c
}

func encodeTestTS(ts uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], ts)
	return base64.StdEncoding.EncodeToString(b[:])
}

func decodeTestTS(t testing.TB, s string) uint64 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		t.Fatalf("timestamp %q is not 8 bytes of base64", s)
	}
	return binary.LittleEndian.Uint64(b)
}

// send writes one message.
func (c *wsClient) send(m any) {
	c.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// recv reads the next message, or returns the error that ended the
// connection.
func (c *wsClient) recv() (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the server sent a message that is not JSON: %q", b)
	}
	if m["type"] == "Transition" {
		if err := c.apply(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// apply checks a Transition's start version against the client's and
// applies its modifications, as the Convex client's RemoteQuerySet does.
func (c *wsClient) apply(m map[string]any) error {
	var tr struct {
		StartVersion  serverVersion    `json:"startVersion"`
		EndVersion    serverVersion    `json:"endVersion"`
		Modifications []map[string]any `json:"modifications"`
	}
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &tr); err != nil {
		return err
	}
	if tr.StartVersion != c.version {
		return fmt.Errorf("invalid start version %+v, the client holds %+v", tr.StartVersion, c.version)
	}
	if decodeTestTS(c.t, tr.EndVersion.TS) < decodeTestTS(c.t, tr.StartVersion.TS) {
		return fmt.Errorf("the timestamp went back: %+v -> %+v", tr.StartVersion, tr.EndVersion)
	}
	for _, mod := range tr.Modifications {
		id := mod["queryId"].(float64)
		if mod["type"] == "QueryRemoved" {
			delete(c.results, id)
		} else {
			c.results[id] = mod
		}
	}
	c.version = tr.EndVersion
	return nil
}

// mustRecvType reads messages until one of type typ, failing on an error
// or on a message of a type in fail (FatalError always fails).
func (c *wsClient) mustRecvType(typ string) map[string]any {
	c.t.Helper()
	for {
		m, err := c.recv()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m["type"] == typ {
			return m
		}
		if m["type"] == "FatalError" || m["type"] == "AuthError" {
			c.t.Fatalf("waiting for %s, got %v", typ, m)
		}
	}
}

// mustRecvEnd reads until the server ends the session, and returns the
// last message it sent (a FatalError or AuthError) and the close error.
func (c *wsClient) mustRecvEnd() (map[string]any, error) {
	c.t.Helper()
	var last map[string]any
	for {
		m, err := c.recv()
		if err != nil {
			if last == nil {
				c.t.Fatalf("the session ended (%v) without a FatalError or AuthError", err)
			}
			return last, err
		}
		if m["type"] == "FatalError" || m["type"] == "AuthError" {
			last = m
		}
	}
}

// add subscribes to path with args and returns the query id.
func (c *wsClient) add(path string, args map[string]any) float64 {
	c.t.Helper()
	id := c.nextID
	c.nextID++
	c.modify(map[string]any{"type": "Add", "queryId": id, "udfPath": path, "args": []any{args}})
	return float64(id)
}

// remove unsubscribes a query.
func (c *wsClient) remove(id float64) {
	c.t.Helper()
	c.modify(map[string]any{"type": "Remove", "queryId": id})
}

func (c *wsClient) modify(mods ...map[string]any) {
	c.t.Helper()
	c.send(map[string]any{"type": "ModifyQuerySet", "baseVersion": c.querySet, "newVersion": c.querySet + 1, "modifications": mods})
	c.querySet++
}

// mustResult waits for a Transition at the current query set version
// whose results satisfy ok for query id, and returns that result.
func (c *wsClient) mustResult(id float64, what string, ok func(r map[string]any) bool) map[string]any {
	c.t.Helper()
	for {
		if r, have := c.results[id]; have && int(c.version.QuerySet) == c.querySet && ok(r) {
			return r
		}
		m, err := c.recv()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v (results: %v)", what, err, c.results[id])
		}
		if m["type"] == "FatalError" {
			c.t.Fatalf("waiting for %s: %v", what, m)
		}
	}
}

// value is the value of a QueryUpdated result, failing on a QueryFailed.
func value(t testing.TB, r map[string]any) any {
	t.Helper()
	if r["type"] != "QueryUpdated" {
		t.Fatalf("want a QueryUpdated, got %v", r)
	}
	return r["value"]
}

// mutate sends a Mutation and returns its request id.
func (c *wsClient) mutate(requestID int, path string, args map[string]any) {
	c.t.Helper()
	c.send(map[string]any{"type": "Mutation", "requestId": requestID, "udfPath": path, "args": []any{args}})
}

// closeStatus is the close code of a connection's end, or -1.
func closeStatus(err error) websocket.StatusCode {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}
