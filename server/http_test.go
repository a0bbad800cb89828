package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/server"
)

// post sends a call to an HTTP endpoint and returns the status and the
// decoded body.
func post(t *testing.T, url, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "the body is JSON: %s", b)
	return resp.StatusCode, m
}

func call(path string, args string) string {
	return `{"path":"` + path + `","format":"convex_encoded_json","args":[` + args + `]}`
}

func TestHTTP_QueryAndMutation(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	status, m := post(t, hs.URL+"/api/mutation", call("tasks:add", `{"text":"a","n":{"$integer":"BwAAAAAAAAA="}}`), nil)
	require.Equal(t, http.StatusOK, status, "%v", m)
	assert.Equal(t, "success", m["status"])
	assert.IsType(t, "", m["value"], "an ID")

	status, m = post(t, hs.URL+"/api/query", call("tasks:list", `{}`), nil)
	require.Equal(t, http.StatusOK, status, "%v", m)
	list := m["value"].([]any)
	require.Len(t, list, 1)
	assert.Equal(t, map[string]any{"$integer": "BwAAAAAAAAA="}, list[0].(map[string]any)["n"], "Int64 as Convex-JSON")

	// /api/function runs either kind; the object form of args works too.
	status, m = post(t, hs.URL+"/api/function", `{"path":"tasks:count","args":{}}`, nil)
	require.Equal(t, http.StatusOK, status, "%v", m)
	assert.Equal(t, 1.0, m["value"])
}

func TestHTTP_Calls_Refused(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{MaxRequestBytes: 512, AdminKey: testAdminKey})
	cases := []struct {
		name       string
		endpoint   string
		body       string
		header     http.Header
		wantStatus int
		want       string
	}{
		{"unknown function", "/api/query", call("tasks:nope", `{}`), nil, 560, "Could not find public function for 'tasks:nope'"},
		{"internal function", "/api/mutation", call("tasks:secret", `{}`), nil, 560, "Could not find public function for 'tasks:secret'"},
		{"mutation as query", "/api/query", call("tasks:add", `{"text":"x"}`), nil, 560, "as Query, but it is defined as Mutation"},
		{"wrong argument type", "/api/mutation", call("tasks:add", `{"text":5}`), nil, 560, "ArgumentValidationError"},
		{"arguments not Convex-JSON", "/api/mutation", call("tasks:add", `{"$text":5}`), nil, 560, "not Convex-JSON"},
		{"arguments not an object", "/api/query", call("tasks:count", `5`), nil, 560, "must be an object, not a number"},
		{"failing query", "/api/query", call("tasks:fail", `{}`), nil, 560, "no luck today"},
		{"panicking query", "/api/query", call("tasks:boom", `{}`), nil, 560, "panicked: kaboom"},
		{"action", "/api/action", call("tasks:act", `{}`), nil, 560, "livedb has no actions"},
		{"body not JSON", "/api/query", `{"path":`, nil, 400, "not a JSON object"},
		{"no path", "/api/query", `{"args":[{}]}`, nil, 400, `no "path"`},
		{"format", "/api/query", `{"path":"tasks:count","format":"xml"}`, nil, 400, `format "xml" is not supported`},
		{"body too big", "/api/mutation", call("tasks:add", `{"text":"`+strings.Repeat("x", 600)+`"}`), nil, 413, "larger than the server's limit of 512 bytes"},
		{"bad token", "/api/query", call("tasks:whoami", `{}`), http.Header{"Authorization": {"Bearer forged"}}, 401, "token not recognized"},
		{"bad auth scheme", "/api/query", call("tasks:whoami", `{}`), http.Header{"Authorization": {"Basic eDp5"}}, 401, "unknown Authorization scheme"},
		{"wrong admin key", "/api/query", call("_system/livedb:tables", `{}`), http.Header{"Authorization": {"Convex guess"}}, 401, "the admin key is wrong"},
		{"raw tables without the key", "/api/query", call("_system/livedb:tables", `{}`), nil, 560, "needs the admin key"},
		{"unknown endpoint", "/api/nope", call("tasks:count", `{}`), nil, 404, "no such endpoint"},
		{"foreign origin", "/api/query", call("tasks:count", `{}`), http.Header{"Origin": {"https://evil.example"}}, 403, `origin "https://evil.example" may not use this server`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, m := post(t, hs.URL+tc.endpoint, tc.body, tc.header)
			assert.Equal(t, tc.wantStatus, status, "%v", m)
			msg, _ := m["errorMessage"].(string)
			if tc.wantStatus != 560 {
				msg, _ = m["message"].(string)
			} else {
				assert.Equal(t, "error", m["status"])
			}
			assert.Contains(t, msg, tc.want)
		})
	}
	assert.Empty(t, mustCollect(t, db), "no refused call wrote")
	status, _ := post(t, hs.URL+"/api/query", call("tasks:count", `{}`), nil)
	assert.Equal(t, http.StatusOK, status, "the server is still up")

	resp, err := http.Get(hs.URL + "/api/query")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestHTTP_Auth_IdentityAndAdmin(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{AdminKey: testAdminKey})
	status, m := post(t, hs.URL+"/api/query", call("tasks:whoami", `{}`), http.Header{"Authorization": {"Bearer token:bob"}})
	require.Equal(t, http.StatusOK, status, "%v", m)
	assert.Equal(t, "bob", m["value"])
	status, m = post(t, hs.URL+"/api/mutation", call("tasks:add", `{"text":"mine"}`), http.Header{"Authorization": {"Bearer token:bob"}})
	require.Equal(t, http.StatusOK, status, "%v", m)
	assert.Equal(t, "bob", mustCollect(t, db)[0]["owner"])

	status, m = post(t, hs.URL+"/api/query", call("_system/livedb:tables", `{}`), http.Header{"Authorization": {"Convex " + testAdminKey}})
	require.Equal(t, http.StatusOK, status, "%v", m)
	tables := m["value"].([]any)
	require.Len(t, tables, 1)
	assert.Equal(t, map[string]any{"name": "tasks", "documents": 1.0, "indexes": []any{
		map[string]any{"name": "by_text", "fields": []any{"text"}},
	}}, tables[0])
	// The admin key does not open internal functions.
	status, m = post(t, hs.URL+"/api/mutation", call("tasks:secret", `{}`), http.Header{"Authorization": {"Convex " + testAdminKey}})
	assert.Equal(t, 560, status)
	assert.Contains(t, m["errorMessage"], "Could not find public function")
}

func TestServer_Origin_WebSocketAndCORS(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{AllowedOrigins: []string{"app.example.com", "https://*.trusted.example"}})
	cases := []struct {
		origin string
		ok     bool
	}{
		{"", true},                              // not a browser
		{hs.URL, true},                          // the server's own page
		{"http://app.example.com", true},        // a host pattern
		{"https://a.trusted.example", true},     // a pattern with a scheme
		{"http://a.trusted.example", false},     // ...which is part of it
		{"https://evil.example", false},         // anyone else
		{"https://app.example.com.evil", false}, // no suffix games
		{"null", false},                         // a sandboxed page
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, resp, err := dialWS(t, hs.URL, h)
			if tc.ok {
				require.NoError(t, err)
				_ = c.conn.CloseNow()
			} else {
				require.Error(t, err)
				require.NotNil(t, resp)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			}
			status, m := post(t, hs.URL+"/api/query", call("tasks:count", `{}`), h)
			if tc.ok {
				assert.Equal(t, http.StatusOK, status, "%v", m)
			} else {
				assert.Equal(t, http.StatusForbidden, status, "%v", m)
			}
		})
	}
	// A preflight from an allowed origin learns what it may send.
	req, _ := http.NewRequest(http.MethodOptions, hs.URL+"/api/query", nil)
	req.Header.Set("Origin", "http://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "http://app.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
}

func TestNew_Options(t *testing.T) {
	db := mustOpenMemory(t)
	reg := mustRegistry(t)
	_, err := server.New(db, reg, server.Options{MaxRequestBytes: -1})
	assert.ErrorContains(t, err, "MaxRequestBytes is negative")
	_, err = server.New(db, reg, server.Options{AllowedOrigins: []string{"[oops"}})
	assert.ErrorContains(t, err, `AllowedOrigins pattern "[oops"`)
	_, err = server.New(nil, reg, server.Options{})
	assert.ErrorContains(t, err, "db is nil")

	// Two names with one path.
	q := func(name string) livedb.Registerable {
		return livedb.NewQuery(livedb.FunctionDef[struct{}, int]{Name: name}, func(*livedb.QueryCtx, struct{}) (int, error) { return 0, nil })
	}
	twins, err := livedb.NewRegistry(q("tasks"), q("tasks:default"))
	require.NoError(t, err)
	_, err = server.New(db, twins, server.Options{})
	assert.ErrorContains(t, err, `have the same path "tasks:default"`)
	sys, err := livedb.NewRegistry(q("_system/mine:x"))
	require.NoError(t, err)
	_, err = server.New(db, sys, server.Options{})
	assert.ErrorContains(t, err, `the path prefix "_system/" is the server's own`)
}

func TestServer_FunctionPaths_Canonical(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, server.Options{})
	for _, p := range []string{"tasks:count", "tasks.js:count"} {
		status, m := post(t, hs.URL+"/api/query", call(p, `{}`), nil)
		assert.Equal(t, http.StatusOK, status, "%s: %v", p, m)
	}
	status, m := post(t, hs.URL+"/api/query", call("tasks", `{}`), nil)
	assert.Equal(t, 560, status)
	assert.Contains(t, m["errorMessage"], "Could not find public function for 'tasks'", "tasks is tasks:default")
}

func TestServer_Dashboard_BehindAdminKey(t *testing.T) {
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "dashboard at "+r.URL.Path)
	})
	t.Cleanup(server.SetDashboard(dash))
	db := mustOpenMemory(t)

	_, off := MustServe(t, db, server.Options{})
	resp, err := http.Get(off.URL + "/dashboard/")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, string(b), "the dashboard is off: the server has no admin key")

	_, on := MustServe(t, db, server.Options{AdminKey: testAdminKey})
	resp, err = http.Get(on.URL + "/dashboard/tables")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "dashboard at /tables", string(b), "mounted under /dashboard, which it does not see")

	req, _ := http.NewRequest(http.MethodGet, on.URL+"/dashboard/", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a foreign page may not drive the dashboard")
}

func TestServer_Dashboard_Mounted(t *testing.T) {
	db := mustOpenMemory(t)
	mustAdd(t, db, "a")
	_, hs := MustServe(t, db, server.Options{AdminKey: testAdminKey})
	get := func(path, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/dashboard/", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<html", "the page loads without the key; it asks for it")
	status, _ = get("/dashboard/api/tables", "")
	assert.Equal(t, http.StatusUnauthorized, status, "the data needs the key")
	status, _ = get("/dashboard/api/tables", "Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, body = get("/dashboard/api/tables", "Bearer "+testAdminKey)
	assert.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"tasks"`)
}
