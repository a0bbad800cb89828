package livedb_test

import (
	"context"
	"testing"
	"time"
)

// testWait bounds every wait of a test for something another goroutine
// does (a subscription update, a mutation's result). It is not a speed
// limit: an update normally arrives within milliseconds, and the bound only
// turns a lost wake-up into a failure that names what was awaited, instead
// of a hang until go test's timeout that hides which assertion failed.
const testWait = 30 * time.Second

// mustRecv returns the next value of ch. It fails the test, naming what,
// when ch is closed or nothing arrives within timeout. Inside a synctest
// bubble the timeout is virtual: it fires as soon as every goroutine of the
// bubble is blocked.
func mustRecv[T any](t testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case x, ok := <-ch:
		if !ok {
			t.Fatalf("waiting for %s: the channel was closed", what)
		}
		return x
	case <-timer.C:
		t.Fatalf("waiting for %s: nothing after %v", what, timeout)
	}
	panic("unreachable")
}

// boundedCtx returns a context that ends after testWait (and when the test
// ends), for calls that wait for something another goroutine does, such as
// a change feed's Next: a lost wake-up fails them with
// context.DeadlineExceeded, which the test reports, instead of a hang.
func boundedCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	return ctx
}
