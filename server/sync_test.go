package server_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb/server"
)

func TestSession_ModifyQuerySet_VersionsAndResults(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s1")
	q := c.add("tasks:count", map[string]any{})
	r := c.mustResult(q, "the first count", func(map[string]any) bool { return true })
	assert.Equal(t, 0.0, value(t, r))
	assert.Equal(t, 1.0, c.version.QuerySet, "the Transition moves to the query set version the client sent")
	assert.Nil(t, r["journal"], "a query without Paginate has a null journal")
	assert.Equal(t, []any{}, r["logLines"])

	c.mutate(0, "tasks:add", map[string]any{"text": "a"})
	resp := c.mustRecvType("MutationResponse")
	require.Equal(t, true, resp["success"], "%v", resp)
	mts := decodeTestTS(t, resp["ts"].(string))
	// The next Transition reaches the mutation's timestamp and shows it.
	tr := c.mustRecvType("Transition")
	end := tr["endVersion"].(map[string]any)
	assert.GreaterOrEqual(t, decodeTestTS(t, end["ts"].(string)), mts, "the Transition after a MutationResponse reaches its ts")
	assert.Equal(t, 1.0, value(t, c.results[q]), "and carries the mutation's effect")

	c.remove(q)
	tr = c.mustRecvType("Transition")
	assert.Equal(t, 2.0, c.version.QuerySet)
	mods := tr["modifications"].([]any)
	require.Len(t, mods, 1)
	assert.Equal(t, "QueryRemoved", mods[0].(map[string]any)["type"])
}

func TestSession_Mutation_TransitionEvenWhenAlreadyReached(t *testing.T) {
	// Mutations back to back on one session: each answer is followed by a
	// Transition at or past its timestamp, whatever Transitions came
	// before it, or the client's promise would wait for the next one.
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s")
	q := c.add("tasks:count", map[string]any{})
	c.mustResult(q, "the first count", func(map[string]any) bool { return true })
	const n = 5
	for i := range n {
		c.mutate(i, "tasks:add", map[string]any{"text": "a"})
	}
	var waiting []uint64 // answered, not yet reached by a Transition after the answer
	answered := 0
	for answered < n || len(waiting) > 0 {
		m, err := c.recv()
		require.NoError(t, err, "%d answered, %d waiting for a Transition", answered, len(waiting))
		switch m["type"] {
		case "MutationResponse":
			require.Equal(t, true, m["success"], "%v", m)
			assert.Equal(t, float64(answered), m["requestId"], "answers in request order")
			answered++
			waiting = append(waiting, decodeTestTS(t, m["ts"].(string)))
		case "Transition":
			ts := decodeTestTS(t, c.version.TS)
			waiting = slices.DeleteFunc(waiting, func(mts uint64) bool { return mts <= ts })
			if len(waiting) == 0 && answered > 0 {
				// Every answered mutation is visible in the query.
				assert.Equal(t, float64(answered), value(t, c.results[q]))
			}
		}
	}
}

func TestSession_ModifyQuerySet_BaseVersionMismatch(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s1")
	c.send(map[string]any{"type": "ModifyQuerySet", "baseVersion": 3, "newVersion": 4, "modifications": []any{}})
	m, err := c.mustRecvEnd()
	assert.Equal(t, "FatalError", m["type"])
	assert.Contains(t, m["error"], "base version 3 does not match the current query set version 0")
	assert.Equal(t, websocket.StatusPolicyViolation, closeStatus(err))

	// The server goes on serving others.
	c2 := mustDialWS(t, hs.URL, "s2")
	q := c2.add("tasks:count", map[string]any{})
	assert.Equal(t, 0.0, value(t, c2.mustResult(q, "a count on a new session", func(map[string]any) bool { return true })))
}

func TestSession_Messages_Malformed(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	cases := []struct {
		name, msg, want string
	}{
		{"not JSON", `{"type":`, "not a JSON object of the sync protocol"},
		{"no type", `{}`, "the message has no type"},
		{"unknown type", `{"type":"Shout"}`, `unknown message type "Shout"`},
		{"query id not a number", `{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":[{"type":"Add","queryId":"x","udfPath":"tasks:count","args":[{}]}]}`, "not a JSON object"},
		{"modification type", `{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":[{"type":"Swap","queryId":1}]}`, `type "Swap", not Add or Remove`},
		{"mutation without request id", `{"type":"Mutation","udfPath":"tasks:add","args":[{}]}`, "Mutation needs a requestId"},
		{"token type", `{"type":"Authenticate","baseVersion":0,"tokenType":"Magic"}`, `tokenType "Magic"`},
		{"remove unknown", `{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":[{"type":"Remove","queryId":7}]}`, "query 7 is removed but was never added"},
		{"version not after", `{"type":"ModifyQuerySet","baseVersion":0,"newVersion":0,"modifications":[]}`, "new version 0 is not after base version 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustDialWS(t, hs.URL, "s")
			c.sendRaw([]byte(tc.msg))
			m, _ := c.mustRecvEnd()
			assert.Equal(t, "FatalError", m["type"])
			assert.Contains(t, m["error"], tc.want)
		})
	}
	c := mustDialWS(t, hs.URL, "after")
	q := c.add("tasks:count", map[string]any{})
	c.mustResult(q, "a query after the malformed messages", func(map[string]any) bool { return true })
}

func TestSession_Messages_TooBig(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{MaxMessageBytes: 1024})
	c := mustDialWS(t, hs.URL, "s")
	c.mutate(0, "tasks:add", map[string]any{"text": strings.Repeat("x", 2000)})
	m, err := c.mustRecvEnd()
	assert.Equal(t, "FatalError", m["type"])
	assert.Contains(t, m["error"], "larger than the server's limit of 1024 bytes")
	assert.Equal(t, websocket.StatusMessageTooBig, closeStatus(err))
	assert.Empty(t, mustCollect(t, db), "the oversized mutation did not run")

	// Just under the limit is fine.
	c = mustDialWS(t, hs.URL, "s2")
	c.mutate(0, "tasks:add", map[string]any{"text": strings.Repeat("x", 900)})
	resp := c.mustRecvType("MutationResponse")
	assert.Equal(t, true, resp["success"], "%v", resp)
}

func TestSession_Functions_RefusedCallsKeepTheSession(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s")
	unknown := c.add("tasks:nope", map[string]any{})
	internal := c.add("tasks:secret", map[string]any{})
	mutationAsQuery := c.add("tasks:add", map[string]any{"text": "x"})
	badArgs := c.add("tasks:big", map[string]any{"size": "ten"})
	failing := c.add("tasks:fail", map[string]any{})
	panics := c.add("tasks:boom", map[string]any{})
	notConvex := c.add("tasks:count", map[string]any{"$bad": 1})
	ok := c.add("tasks:count", map[string]any{})
	c.mustResult(ok, "the good query", func(map[string]any) bool { return true })
	failed := func(id float64, want string) {
		t.Helper()
		r := c.results[id]
		require.Equal(t, "QueryFailed", r["type"], "%v", r)
		assert.Contains(t, r["errorMessage"], want)
	}
	failed(unknown, "Could not find public function for 'tasks:nope'")
	failed(internal, "Could not find public function for 'tasks:secret'")
	failed(mutationAsQuery, "Trying to execute tasks:add as Query, but it is defined as Mutation")
	failed(badArgs, "ArgumentValidationError")
	failed(badArgs, ".size")
	failed(failing, "no luck today")
	failed(panics, "panicked: kaboom")
	failed(notConvex, "not Convex-JSON")
	assert.Equal(t, 0.0, value(t, c.results[ok]))

	c.mutate(0, "tasks:secret", map[string]any{})
	resp := c.mustRecvType("MutationResponse")
	assert.Equal(t, false, resp["success"])
	assert.Contains(t, resp["result"], "Could not find public function for 'tasks:secret'")
	c.mutate(1, "tasks:add", map[string]any{"text": 5})
	resp = c.mustRecvType("MutationResponse")
	assert.Equal(t, false, resp["success"])
	assert.Contains(t, resp["result"], ".text")
	c.mutate(2, "tasks:count", map[string]any{})
	resp = c.mustRecvType("MutationResponse")
	assert.Contains(t, resp["result"], "as Mutation, but it is defined as Query")
	assert.Empty(t, mustCollect(t, db), "no refused mutation wrote")

	c.mutate(3, "tasks:add", map[string]any{"text": "fine"})
	resp = c.mustRecvType("MutationResponse")
	assert.Equal(t, true, resp["success"], "the session goes on: %v", resp)
}

func TestSession_Authenticate_UserToken(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s")
	q := c.add("tasks:whoami", map[string]any{})
	assert.Nil(t, value(t, c.mustResult(q, "anonymous", func(map[string]any) bool { return true })))
	c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": "token:alice", "baseVersion": 0})
	c.identity++
	r := c.mustResult(q, "alice", func(r map[string]any) bool { return r["value"] == "alice" })
	assert.Equal(t, "alice", value(t, r))
	assert.Equal(t, 1.0, c.version.Identity, "the Transition moves to the identity version")

	c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": "forged", "baseVersion": 1})
	m, err := c.mustRecvEnd()
	assert.Equal(t, "AuthError", m["type"])
	assert.Contains(t, m["error"], "token not recognized")
	assert.Equal(t, 1.0, m["baseVersion"])
	assert.Equal(t, true, m["authUpdateAttempted"])
	assert.Equal(t, websocket.StatusNormalClosure, closeStatus(err))
}

func TestSession_Authenticate_NoAuthenticator(t *testing.T) {
	db := mustOpenMemory(t)
	srv, err := server.New(db, mustRegistry(t), server.Options{})
	require.NoError(t, err)
	hs := startHTTP(t, srv)
	c := mustDialWS(t, hs.URL, "s")
	c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": "token:alice", "baseVersion": 0})
	m, _ := c.mustRecvEnd()
	assert.Equal(t, "AuthError", m["type"])
	assert.Contains(t, m["error"], "no authenticator")
}

func TestSession_Admin_RawTables(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{AdminKey: testAdminKey})
	mustAdd(t, db, "a", "b")
	args := map[string]any{"table": "tasks", "paginationOpts": map[string]any{"numItems": 10, "cursor": nil}}

	c := mustDialWS(t, hs.URL, "s")
	q := c.add("_system/livedb:documents", args)
	r := c.mustResult(q, "a refusal", func(map[string]any) bool { return true })
	assert.Equal(t, "QueryFailed", r["type"])
	assert.Contains(t, r["errorMessage"], "needs the admin key")

	c.send(map[string]any{"type": "Authenticate", "tokenType": "Admin", "value": testAdminKey, "baseVersion": 0})
	c.identity++
	r = c.mustResult(q, "the raw page", func(r map[string]any) bool { return r["type"] == "QueryUpdated" })
	page := value(t, r).(map[string]any)["page"].([]any)
	assert.Len(t, page, 2)

	tables := c.add("_system/livedb:tables", map[string]any{})
	r = c.mustResult(tables, "the tables", func(map[string]any) bool { return true })
	list := value(t, r).([]any)
	require.Len(t, list, 1)
	assert.Equal(t, "tasks", list[0].(map[string]any)["name"])

	// A wrong key is refused, and so is any key when none is configured.
	c2 := mustDialWS(t, hs.URL, "s2")
	c2.send(map[string]any{"type": "Authenticate", "tokenType": "Admin", "value": "guess", "baseVersion": 0})
	m, _ := c2.mustRecvEnd()
	assert.Equal(t, "AuthError", m["type"])
	assert.Contains(t, m["error"], "the admin key is wrong")

	_, hs2 := MustServe(t, db, server.Options{})
	c3 := mustDialWS(t, hs2.URL, "s3")
	c3.send(map[string]any{"type": "Authenticate", "tokenType": "Admin", "value": "", "baseVersion": 0})
	m, _ = c3.mustRecvEnd()
	assert.Contains(t, m["error"], "admin access is off")
}

func TestSession_Mutation_ResentAfterReconnectRunsOnce(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "session-a")
	c.mutate(7, "tasks:add", map[string]any{"text": "once"})
	first := c.mustRecvType("MutationResponse")
	require.Equal(t, true, first["success"])
	_ = c.conn.Close(websocket.StatusNormalClosure, "")

	// The client reconnects with its session id and re-sends the request
	// it has no Transition for.
	c = mustDialWS(t, hs.URL, "session-a")
	c.mutate(7, "tasks:add", map[string]any{"text": "once"})
	again := c.mustRecvType("MutationResponse")
	assert.Equal(t, first["result"], again["result"], "the same answer")
	assert.Equal(t, first["ts"], again["ts"])
	assert.Len(t, mustCollect(t, db), 1, "the mutation ran once")

	// Another session's request id 7 is another mutation.
	c = mustDialWS(t, hs.URL, "session-b")
	c.mutate(7, "tasks:add", map[string]any{"text": "twice"})
	c.mustRecvType("MutationResponse")
	assert.Len(t, mustCollect(t, db), 2)
}

func TestSession_Action_Refused(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s")
	c.send(map[string]any{"type": "Action", "requestId": 0, "udfPath": "tasks:act", "args": []any{map[string]any{}}})
	m := c.mustRecvType("ActionResponse")
	assert.Equal(t, false, m["success"])
	assert.Contains(t, m["result"], "livedb has no actions")
}

func TestSession_Ping(t *testing.T) {
	db := mustOpenMemory(t)
	srv, hs := MustServe(t, db, server.Options{})
	server.SetPingInterval(srv, 1)
	c := mustDialWS(t, hs.URL, "s")
	c.mustRecvType("Ping")
}

func TestServer_Close_EndsSessionsGoingAway(t *testing.T) {
	db := mustOpenMemory(t)
	srv, hs := MustServe(t, db, server.Options{})
	c := mustDialWS(t, hs.URL, "s")
	q := c.add("tasks:count", map[string]any{})
	c.mustResult(q, "a result", func(map[string]any) bool { return true })
	require.NoError(t, srv.Close())
	for {
		_, err := c.recv()
		if err != nil {
			assert.Equal(t, websocket.StatusGoingAway, closeStatus(err), "%v", err)
			break
		}
	}
	assert.Equal(t, 0, srv.Sessions())
	_, resp, err := dialWS(t, hs.URL, nil)
	require.Error(t, err, "a closed server takes no new session")
	if resp != nil {
		assert.Equal(t, 503, resp.StatusCode)
	}
}

func TestSession_Authenticate_QueriesKeepTheirArguments(t *testing.T) {
	// A query whose arguments were refused is refused again after the
	// identity changes, and one that ran runs again with its arguments.
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	mustAdd(t, db, "a")
	c := mustDialWS(t, hs.URL, "s")
	bad := c.add("tasks:count", map[string]any{"$bad": 1})
	big := c.add("tasks:big", map[string]any{"size": 3})
	c.mustResult(big, "the first results", func(map[string]any) bool { return true })
	c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": "token:alice", "baseVersion": 0})
	c.identity++
	for c.version.Identity != 1 {
		c.mustRecvType("Transition")
	}
	assert.Equal(t, "QueryFailed", c.results[bad]["type"])
	assert.Contains(t, c.results[bad]["errorMessage"], "not Convex-JSON")
	assert.Equal(t, "xxx+", value(t, c.results[big]))
}
