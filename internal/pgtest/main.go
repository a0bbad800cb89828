package pgtest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
)

// shared is the cluster of the test binary: started by the first Require,
// closed by Main.
var shared struct {
	mu      sync.Mutex
	main    bool // Main is running
	opts    *Options
	started bool // Start was called (c or err is set)
	c       *Cluster
	err     error
}

// Main runs the tests of m and then closes the cluster that [Require]
// started, if any; it returns the exit code for os.Exit. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, nil)) }
//
// opts configures the cluster (nil means the defaults). A failure to close
// the cluster turns a passing run into a failing one.
func Main(m *testing.M, opts *Options) int {
	shared.mu.Lock()
	shared.main, shared.opts = true, opts
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	c := shared.c
	shared.c, shared.started, shared.err, shared.main = nil, false, nil, false
	shared.mu.Unlock()
	if c != nil {
		if err := c.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: close the cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Require returns the test binary's cluster, starting it on the first call.
// Without the PostgreSQL binaries it skips the test with a message that says
// how to install them, except when the CI environment variable is true,
// where it fails the test: CI must run these tests. Any other failure to
// start fails the test. Require fails the test if the package's TestMain
// does not call [Main], which closes the cluster.
func Require(tb testing.TB) *Cluster {
	tb.Helper()
	shared.mu.Lock()
	if !shared.main {
		shared.mu.Unlock()
		tb.Fatal("pgtest.Require needs pgtest.Main in the package's TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, nil)) }")
	}
	if !shared.started {
		shared.c, shared.err = Start(shared.opts)
		shared.started = true
	}
	c, err := shared.c, shared.err
	shared.mu.Unlock()
	if err != nil {
		if skip(err) {
			tb.Skip(err)
		}
		tb.Fatal(err)
	}
	return c
}

// skip reports whether a failure to start allows skipping the test: only
// missing binaries, and never under CI.
func skip(err error) bool {
	return errors.Is(err, ErrNotInstalled) && !inCI()
}

// inCI reports whether the CI environment variable is set to a true value.
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}
