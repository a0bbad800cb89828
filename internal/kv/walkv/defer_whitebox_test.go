package walkv

import (
	"testing"
	"time"
)

// TestOptions_DeferCheckpoint checks the bounds of a checkpoint's wait
// for hot reads: it waits only while reads are hot, the layer is below
// twice CheckpointBytes and MaxOverlayBytes, and its oldest commit is
// younger than maxDeferAges CheckpointAges.
func TestOptions_DeferCheckpoint(t *testing.T) {
	o := (&Options{CheckpointBytes: 100, CheckpointAge: time.Second, MaxOverlayBytes: 150}).withDefaults()
	for _, tc := range []struct {
		name  string
		bytes int64
		age   time.Duration
		rate  float64
		want  bool
	}{
		{"hot reads", 120, 2 * time.Second, hotReads, true},
		{"cold reads", 120, 2 * time.Second, hotReads - 1, false},
		{"no reads", 0, time.Hour, 0, false},
		{"twice CheckpointBytes", 200, time.Second, 1e6, false},
		{"MaxOverlayBytes", 150, time.Second, 1e6, false},
		{"just below MaxOverlayBytes", 149, time.Second, 1e6, true},
		{"maxDeferAges old", 10, maxDeferAges * time.Second, 1e6, false},
		{"just younger", 10, maxDeferAges*time.Second - 1, 1e6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := o.deferCheckpoint(tc.bytes, tc.age, tc.rate); got != tc.want {
				t.Fatalf("deferCheckpoint(%d bytes, %v, %v/s) = %v, want %v", tc.bytes, tc.age, tc.rate, got, tc.want)
			}
		})
	}
}

// TestStore_ReadRate checks the rate of snapshots the checkpointer sees,
// on a clock the test moves: over the time since the start at first, then
// over the last one to two hotWindows.
func TestStore_ReadRate(t *testing.T) {
	s := &Store{}
	clock := time.Unix(0, 0)
	rate := s.readRate(func() time.Time { return clock })
	step := func(d time.Duration, reads int64, want float64) {
		t.Helper()
		clock = clock.Add(d)
		s.reads.Add(reads)
		if got := rate(); got != want {
			t.Fatalf("at %v, rate = %v/s, want %v/s", clock.Sub(time.Unix(0, 0)), got, want)
		}
	}
	step(0, 0, 0)
	step(hotWindow/2, 500, 500/(hotWindow/2).Seconds())  // since the start
	step(hotWindow/2, 500, 1000/hotWindow.Seconds())     // a whole window: it shifts
	step(hotWindow/2, 0, 1000/(hotWindow*3/2).Seconds()) // a lull counts in
	step(hotWindow/2, 0, 0)                              // shifts: no read in the last window
	step(hotWindow/2, 300, 300/(hotWindow*3/2).Seconds())
}
