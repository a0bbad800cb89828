package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// startServe runs serve on path with args in the background and returns
// the URL it prints, its output and a function that stops it and returns
// its exit code.
func startServe(t *testing.T, path string, args ...string) (url string, out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, append([]string{"serve", path, "-addr", "127.0.0.1:0"}, args...), out, &errOut)
	}()
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)\n`)
	waitFor(t, "serve to print its URL", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, errOut.String())
		default:
		}
		return re.MatchString(out.String())
	})
	stopped := false
	stop = func() int {
		if stopped {
			return exitOK
		}
		stopped = true
		cancel()
		return waitExit(t, "serve after cancel", done)
	}
	t.Cleanup(func() { stop() })
	return re.FindStringSubmatch(out.String())[1], out, stop
}

// postQuery runs a query over serve's HTTP API.
func postQuery(t *testing.T, url, path, args, auth string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/api/query", strings.NewReader(`{"path":"`+path+`","args":[`+args+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, m
}

func TestRun_Serve(t *testing.T) {
	path, _ := MustTestDB(t)
	url, out, stop := startServe(t, path, "-admin-key", "k-123")
	if strings.Contains(out.String(), "admin key:") {
		t.Errorf("a chosen admin key is not printed:\n%s", out)
	}
	status, m := postQuery(t, url, "_system/livedb:documents", `{"table":"workflows","paginationOpts":{"numItems":3,"cursor":null}}`, "Convex k-123")
	if status != http.StatusOK {
		t.Fatalf("raw documents with the admin key: %d %v", status, m)
	}
	page := m["value"].(map[string]any)["page"].([]any)
	if len(page) != 3 || page[0].(map[string]any)["task"] != "task a" {
		t.Errorf("first page = %v", page)
	}
	status, m = postQuery(t, url, "_system/livedb:tables", `{}`, "")
	if status != 560 || !strings.Contains(m["errorMessage"].(string), "needs the admin key") {
		t.Errorf("raw tables without the key: %d %v", status, m)
	}
	status, _ = postQuery(t, url, "_system/livedb:tables", `{}`, "Convex wrong")
	if status != http.StatusUnauthorized {
		t.Errorf("a wrong admin key: status %d, want 401", status)
	}
	status, m = postQuery(t, url, "workflows:list", `{}`, "")
	if status != 560 || !strings.Contains(m["errorMessage"].(string), "Could not find public function") {
		t.Errorf("a standalone server has no functions: %d %v", status, m)
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve exit %d after Ctrl-C, want 0", code)
	}
}

func TestRun_ServeGeneratesAKey(t *testing.T) {
	t.Setenv("LIVEDB_ADMIN_KEY", "")
	path, _ := MustTestDB(t)
	url, out, _ := startServe(t, path)
	key := regexp.MustCompile(`admin key:\s+(\S+)`).FindStringSubmatch(out.String())
	if key == nil {
		t.Fatalf("no admin key printed:\n%s", out)
	}
	if status, m := postQuery(t, url, "_system/livedb:tables", `{}`, "Convex "+key[1]); status != http.StatusOK {
		t.Errorf("the printed key: %d %v", status, m)
	}
}

func TestRun_ServeDefaults(t *testing.T) {
	fs := newFlagSet(serveCommand, &env{})
	serveCommand.flags(fs)
	if got := fs.Lookup("addr").DefValue; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("serve listens on %s by default, want loopback", got)
	}
	if got := fs.Lookup("readonly").DefValue; got != "true" {
		t.Errorf("serve opens the file with -readonly=%s by default, want true", got)
	}
	code, _, stderr := cli(t, "serve", "mysql://db.example/livedb")
	if code != exitUsage || !strings.Contains(stderr, "a database file or a postgres:// URL") {
		t.Errorf("a URL that is no DSN: exit %d, stderr %q", code, stderr)
	}
}
