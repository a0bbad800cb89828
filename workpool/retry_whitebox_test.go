package workpool

import (
	"math"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/engine"
)

// TestBackoff_Jitter checks the retry wait over many draws: between half
// and one and a half times InitialBackoff × Base^(n-1), spread over that
// range, and whole milliseconds.
func TestBackoff_Jitter(t *testing.T) {
	item := map[string]any{"retry": RetryPolicy{InitialBackoff: 200 * time.Millisecond, Base: 3, MaxAttempts: 5}.doc()}
	for attempts := 1.0; attempts <= 3; attempts++ {
		want := 200 * math.Pow(3, attempts-1)
		lo, hi := math.Inf(1), math.Inf(-1)
		for range 2000 {
			d := engine.Backoff(item, attempts)
			if d != math.Floor(d) {
				t.Fatalf("backoff %v is not whole milliseconds", d)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < want*0.5 || hi > math.Ceil(want*1.5) {
			t.Errorf("attempt %v: backoff in [%v, %v], want within [%v, %v)", attempts, lo, hi, want*0.5, want*1.5)
		}
		if lo > want*0.55 || hi < want*1.45 {
			t.Errorf("attempt %v: backoff in [%v, %v] does not spread over [%v, %v)", attempts, lo, hi, want*0.5, want*1.5)
		}
	}
}

// TestNames_MatchEngine checks that the package's table name and states are
// the ones the engine stores and validates.
func TestNames_MatchEngine(t *testing.T) {
	pairs := [][2]string{
		{ItemsTable, engine.WorkItemsTable},
		{string(Pending), engine.WorkPending}, {string(Running), engine.WorkRunning},
		{string(Success), engine.WorkSuccess}, {string(Failed), engine.WorkFailed},
		{string(Canceled), engine.WorkCanceled},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("workpool has %q where the engine has %q", p[0], p[1])
		}
	}
}
