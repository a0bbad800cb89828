package pgtest_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/pgtest"
)

// TestStart_KilledBinaryLeavesNoServer kills a test binary that started a
// cluster: its server must exit by itself, and the next Start removes the
// directory it left.
func TestStart_KilledBinaryLeavesNoServer(t *testing.T) {
	c := pgtest.Require(t)
	if c.External() {
		t.Skip("tests the clusters that pgtest starts, and " + pgtest.URLEnv + " is set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1", pgtest.URLEnv+"=")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("read the child's cluster directory: %v", err)
	}
	dir := strings.TrimSpace(line)
	if !filepath.IsAbs(dir) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child did not start a cluster: %s", dir)
	}
	pid := postmasterPID(t, dir)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	// Wait (bounded) for the server to exit.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for syscall.Kill(pid, 0) == nil {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("postgres (pid %d) still runs 2 minutes after its test binary was killed", pid)
		case <-tick.C:
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed child's directory: %v", err)
	}
	t.Setenv(pgtest.URLEnv, "")
	c2, err := pgtest.Start(&pgtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Start left the directory of a dead test binary's cluster: %v", err)
	}
}

// postmasterPID reads the postmaster's pid from the cluster in dir.
func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}
