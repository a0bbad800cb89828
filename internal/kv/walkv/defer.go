package walkv

import "time"

// A checkpoint writes a whole overlay layer into bbolt in one transaction:
// for a bulk load's last 32 MiB, a second or more of a core, and garbage
// for the collector, taken from the readers that run meanwhile (bench's W3
// point reads, which follow its load, ran entirely inside such a
// checkpoint). Nothing but memory and the log's length depends on when a
// checkpoint runs (every commit is in the log already), so a due
// checkpoint waits while snapshots are being opened fast, within bounds:
// the layer below twice CheckpointBytes (and MaxOverlayBytes), its oldest
// commit younger than maxDeferAges times CheckpointAge. Checkpoint and
// Close never wait.
const (
	// hotReads is the rate of snapshots, per second, at which reads are
	// hot: a query every 200 µs.
	hotReads = 5000
	// hotPoll is how often a deferred checkpoint looks again.
	hotPoll = 10 * time.Millisecond
	// hotWindow is the shortest time over which the rate is measured.
	hotWindow = 100 * time.Millisecond
	// maxDeferAges bounds the age of the oldest commit of a deferred
	// layer, in CheckpointAges.
	maxDeferAges = 4
)

// deferCheckpoint reports whether a due checkpoint of an active layer of
// bytes whose oldest commit is age old waits, with snapshots opened at
// rate per second since the checkpointer last looked.
func (o *Options) deferCheckpoint(bytes int64, age time.Duration, rate float64) bool {
	return rate >= hotReads &&
		bytes < 2*o.CheckpointBytes && bytes < o.MaxOverlayBytes &&
		age < maxDeferAges*o.CheckpointAge
}

// readRate returns a function that returns the rate of snapshots, per
// second, over the last hotWindow to twice hotWindow (less at first: since
// readRate was called), so that a reader descheduled for a moment does not
// make reads look cold. now is the clock (time.Now).
func (s *Store) readRate(now func() time.Time) func() float64 {
	type sample struct {
		n  int64
		at time.Time
	}
	prev := sample{s.reads.Load(), now()}
	cur := prev
	return func() float64 {
		x := sample{s.reads.Load(), now()}
		if x.at.Sub(cur.at) >= hotWindow {
			prev, cur = cur, x
		}
		d := x.at.Sub(prev.at)
		if d <= 0 {
			return 0
		}
		return float64(x.n-prev.n) / d.Seconds()
	}
}
