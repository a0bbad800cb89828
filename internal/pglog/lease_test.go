package pglog_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/pglog"
)

func TestLog_TryLease_OneHolderAmongThree(t *testing.T) {
	dsn := newDSN(t)
	logs := []*pglog.Log{mustOpen(t, dsn), mustOpen(t, dsn), mustOpen(t, dsn)}
	var mu sync.Mutex
	holders := map[string]int64{} // holder → token, for each TryLease that held
	var wg sync.WaitGroup
	errs := make(chan error, len(logs))
	for i, l := range logs {
		holder := fmt.Sprintf("process-%d", i)
		wg.Go(func() {
			for range 20 {
				held, token, err := l.TryLease(testCtx(t), "scheduler", holder, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if held {
					mu.Lock()
					old, renewed := holders[holder]
					holders[holder] = token
					mu.Unlock()
					if renewed && old != token {
						errs <- fmt.Errorf("%s renewed with token %d, then %d", holder, old, token)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(holders) != 1 {
		t.Fatalf("holders of a one-hour lease: %v, want exactly one", holders)
	}
}

func TestLog_TryLease_TakeoverAfterTTL(t *testing.T) {
	dsn := newDSN(t)
	la, lb, lc := mustOpen(t, dsn), mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := testCtx(t)
	mustLease := func(l *pglog.Log, holder string, ttl time.Duration, want bool) int64 {
		t.Helper()
		held, token, err := l.TryLease(ctx, "cron", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if held != want {
			t.Fatalf("TryLease(%s) held = %v, want %v", holder, held, want)
		}
		return token
	}
	t1 := mustLease(la, "a", time.Hour, true)
	mustLease(lb, "b", time.Hour, false)
	if again := mustLease(la, "a", time.Hour, true); again != t1 {
		t.Fatalf("a renewed with token %d, had %d", again, t1)
	}
	// a renews one last time for a microsecond, then stops: b takes over
	// once it has expired by the server's clock.
	mustLease(la, "a", time.Microsecond, true)
	var t2 int64
	deadline := time.After(waitTimeout)
	for {
		held, token, err := lb.TryLease(ctx, "cron", "b", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if held {
			t2 = token
			break
		}
		select {
		case <-deadline:
			t.Fatalf("b did not take over an expired lease within %s", waitTimeout)
		default:
		}
	}
	if t2 <= t1 {
		t.Fatalf("new holder's token %d, not above the old %d", t2, t1)
	}
	mustLease(la, "a", time.Hour, false)
	// a's release does nothing to b's lease; b's release frees it at once.
	if err := la.ReleaseLease(ctx, "cron", "a"); err != nil {
		t.Fatal(err)
	}
	mustLease(lc, "c", time.Hour, false)
	if err := lb.ReleaseLease(ctx, "cron", "b"); err != nil {
		t.Fatal(err)
	}
	if t3 := mustLease(lc, "c", time.Hour, true); t3 <= t2 {
		t.Fatalf("token after release %d, not above %d", t3, t2)
	}
	// Leases are independent by name.
	if held, _, err := la.TryLease(ctx, "other", "a", time.Hour); err != nil || !held {
		t.Fatalf("a on another lease: held %v, %v; want held", held, err)
	}
}

// TestLog_TryLease_TokenOwnedByOne runs three holders with a short ttl so
// that the lease changes hands: no token is ever held by two holders.
func TestLog_TryLease_TokenOwnedByOne(t *testing.T) {
	dsn := newDSN(t)
	var mu sync.Mutex
	owner := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		l := mustOpen(t, dsn)
		holder := fmt.Sprintf("h%d", i)
		wg.Go(func() {
			for range 40 {
				held, token, err := l.TryLease(testCtx(t), "role", holder, time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				if !held {
					continue
				}
				mu.Lock()
				o, seen := owner[token]
				owner[token] = holder
				mu.Unlock()
				if seen && o != holder {
					errs <- fmt.Errorf("token %d held by %s and %s", token, o, holder)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(owner) == 0 {
		t.Fatal("nobody ever held the lease")
	}
	t.Logf("the lease changed hands %d times", len(owner)-1)
}

func TestLog_TryLease_Invalid(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	ctx := testCtx(t)
	for _, tc := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "h", time.Second}, {"n", "", time.Second}, {"n", "h", 0}, {"n", "h", -time.Second}} {
		_, _, err := l.TryLease(ctx, tc.name, tc.holder, tc.ttl)
		wantErr(t, fmt.Sprintf("TryLease(%q, %q, %s)", tc.name, tc.holder, tc.ttl), err, pglog.ErrInvalid)
	}
}
