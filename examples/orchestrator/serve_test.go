package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that the run writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRun_Serve: with -serve, the run's database is served while the run
// lasts; with -admin-key, the dashboard's API answers with the run's
// tables.
func TestRun_Serve(t *testing.T) {
	out := &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	args := []string{"-db", filepath.Join(t.TempDir(), "o.db"), "-workflows", "2", "-work", "300ms",
		"-serve", "127.0.0.1:0", "-admin-key", "test-key"}
	go func() { done <- run(ctx, args, out) }()
	addrRE := regexp.MustCompile(`serving the database at (http://\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no serving line after 30s:\n%s", out.String())
		}
	}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/dashboard/api/tables", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s/dashboard/api/tables while the run lasts: %v", base, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "agentSessions") {
		t.Fatalf("GET /dashboard/api/tables: %d %s", resp.StatusCode, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if _, err := http.Get(base + "/dashboard/api/tables"); err == nil {
		t.Errorf("the server still answers after the run ended")
	}
}
