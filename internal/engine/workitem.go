package engine

import (
	"math"
	"math/rand/v2"
	"time"
)

// WorkItemsTable is the system table of work items. Its documents are the
// items of every work pool: pool, state (one of the Work* states), slot,
// readyAt, args, attempts, retry {maxAttempts, initialBackoffMs, base},
// leaseMs, worker, leaseUntil, expiries, onComplete, context, error,
// result, onCompleteError, completedTime.
const WorkItemsTable = "_workpool_items"

// The states of a work item. Success, failed and canceled are final.
const (
	WorkPending  = "pending"
	WorkRunning  = "running"
	WorkSuccess  = "success"
	WorkFailed   = "failed"
	WorkCanceled = "canceled"
)

// Str returns x when it is a string, and "" otherwise.
func Str(x any) string {
	s, _ := x.(string)
	return s
}

// Backoff returns how long a work item waits after its attempts-th failed
// attempt, in whole milliseconds: initialBackoff × base^(attempts-1),
// times a jitter factor in [0.5, 1.5), rounded up.
func Backoff(item map[string]any, attempts float64) float64 {
	rp, _ := item["retry"].(map[string]any)
	initial, _ := rp["initialBackoffMs"].(float64)
	base, _ := rp["base"].(float64)
	return math.Ceil(initial * math.Pow(max(base, 1), max(attempts-1, 0)) * (0.5 + rand.Float64()))
}

// MaxAttempts returns a work item's attempt limit.
func MaxAttempts(item map[string]any) float64 {
	rp, _ := item["retry"].(map[string]any)
	n, _ := rp["maxAttempts"].(float64)
	return max(n, 1)
}

// OnCompleteArgs returns the arguments of the onComplete mutation of the
// work item id: {workId, context, result}.
func OnCompleteArgs(id string, item map[string]any, result map[string]any) map[string]any {
	args := map[string]any{"workId": id, "result": result}
	if c, ok := item["context"]; ok {
		args["context"] = c
	}
	return args
}

// The system tables store times as whole milliseconds since the Unix
// epoch, as Convex does: "now" rounded down (ToMillis), a due time in the
// future rounded up (DueMillis), so that nothing runs before its time and
// a timer set for a due time (FromMillis) finds it due when it fires.

// ToMillis returns t in whole milliseconds since the Unix epoch, rounded
// down: the time now, as due times are compared with it.
func ToMillis(t time.Time) float64 { return float64(t.UnixMilli()) }

// DueMillis returns due time t, set at now, in whole milliseconds since
// the Unix epoch: rounded up, so that it is never before t, unless t is
// not after now (work due at once), which is due at once rounded down.
func DueMillis(t, now time.Time) float64 {
	ms := t.UnixMilli()
	if t.After(now) && t.After(time.UnixMilli(ms)) {
		ms++
	}
	return float64(ms)
}

// FromMillis returns the time of a stored due time (rounded up, in case
// it is not a whole number).
func FromMillis(ms float64) time.Time { return time.UnixMilli(int64(math.Ceil(ms))) }

// DurationMillis converts a duration to milliseconds.
func DurationMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
