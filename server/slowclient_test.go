//go:build unix

package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/server"
)

// The slow-client tests set a socket option, so they build on Unix only.

// logRecords is a slog handler that hands each record's message and
// attributes to a channel, for tests that wait for what the server logs.
type logRecords chan map[string]string

func (l logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l logRecords) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	select {
	case l <- m:
	default: // a test that does not read them drops them
	}
	return nil
}
func (l logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecords) WithGroup(string) slog.Handler      { return l }

// slowClient opens a session that watches a query with a large result and
// then never reads. Its socket's receive buffer is small, so that the
// server's writes to it block after a few MiB (what a stalled browser
// tab does), not after the tens of MiB Linux grows a buffer to.
func slowClient(t *testing.T, url string) *wsClient {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(cerr, err)
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, syncURL(url), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsClient{t: t, conn: conn, results: map[float64]map[string]any{}}
	c.send(map[string]any{"type": "Connect", "sessionId": "slow", "connectionCount": 0, "lastCloseReason": nil, "clientTs": 0})
	c.add("tasks:big", map[string]any{"size": 512 << 10})
	return c
}

// mustMutateCaughtUp runs a mutation over HTTP and waits until every
// subscription has its new result, so that each commit gives the slow
// client a new message instead of being coalesced with the next.
func mustMutateCaughtUp(t *testing.T, url string, db *livedb.DB) {
	t.Helper()
	status, m := post(t, url+"/api/mutation", call("tasks:add", `{"text":"t"}`), nil)
	require.Equal(t, http.StatusOK, status, "%v", m)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	_, err := db.WaitSubscriptions(ctx, db.LastTimestamp())
	require.NoError(t, err)
}

func TestSession_SlowClient_OthersGoOn(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{WriteTimeout: time.Hour})
	slow := slowClient(t, hs.URL)
	healthy := mustDialWS(t, hs.URL, "healthy")
	q := healthy.add("tasks:count", map[string]any{})
	healthy.mustResult(q, "the first count", func(map[string]any) bool { return true })

	// Every commit makes a new 512 KiB result for the slow client: after a
	// few MiB its socket is full and its session blocks writing to it, for
	// as long as the write timeout allows (here, the whole test).
	const n = 100
	for range n {
		mustMutateCaughtUp(t, hs.URL, db)
	}
	healthy.mustResult(q, "every commit at the healthy client", func(r map[string]any) bool { return r["value"] == float64(n) })
	_ = slow.conn.CloseNow()
}

func TestSession_SlowClient_Dropped(t *testing.T) {
	db := mustOpenMemory(t)
	logs := make(logRecords, 1024)
	srv, hs := MustServe(t, db, server.Options{WriteTimeout: 200 * time.Millisecond, Logger: slog.New(logs)})
	slowClient(t, hs.URL)
	closed := func(r map[string]string) bool {
		return r["msg"] == "livedb server: session closed" && r["session"] == "slow"
	}
	// Commit until the slow client's socket is full and its write times
	// out; then wait for the session's end.
	var rec map[string]string
	for i := 0; rec == nil && i < 1000; i++ {
		mustMutateCaughtUp(t, hs.URL, db)
		select {
		case r := <-logs:
			if closed(r) {
				rec = r
			}
		default:
		}
	}
	timer := time.NewTimer(testWait)
	defer timer.Stop()
	for rec == nil {
		select {
		case r := <-logs:
			if closed(r) {
				rec = r
			}
		case <-timer.C:
			t.Fatalf("the slow client's session was not closed within %v", testWait)
		}
	}
	assert.Contains(t, rec["reason"], "did not read a message within the write timeout")
	// The server goes on.
	n := len(mustCollect(t, db))
	c := mustDialWS(t, hs.URL, "next")
	q := c.add("tasks:count", map[string]any{})
	assert.Equal(t, float64(n), value(t, c.mustResult(q, "a count after the drop", func(map[string]any) bool { return true })))
	assert.Equal(t, 1, srv.Sessions())
}
