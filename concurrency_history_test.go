package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// rmw is one committed read-modify-write of the history check: for each
// counter it touched, the value it read and the value it wrote.
type rmw struct {
	ts     uint64
	reads  map[int]int64
	writes map[int]int64
}

func TestDB_Mutation_HistoryIsSerializable(t *testing.T) {
	const counters = 4
	writers, each := 8, 40
	if rxLong() {
		writers, each = 32, 300
	}
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		ids := make([]livedb.ID, counters)
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range ids {
				var err error
				if ids[i], err = m.DB.Insert("counters", livedb.Doc{"name": fmt.Sprint("c", i), "value": int64(0)}); err != nil {
					return err
				}
			}
			return nil
		})
		s1, s2 := rxSeed(t)
		var mu sync.Mutex
		var hist []rmw
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(s1, s2+uint64(w)))
				lastTS := uint64(0)
				for range each {
					// Touch one or two counters; read each, add a random delta.
					touch := []int{rng.IntN(counters)}
					if rng.IntN(2) == 0 {
						if c := rng.IntN(counters); c != touch[0] {
							touch = append(touch, c)
						}
					}
					deltas := []int64{1 + rng.Int64N(9), 1 + rng.Int64N(9)}
					var rec rmw
					ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
						rec = rmw{reads: map[int]int64{}, writes: map[int]int64{}}
						for i, c := range touch {
							d, _, err := m.DB.Get(ids[c])
							if err != nil {
								return err
							}
							val := rxInt(t, d, "value")
							rec.reads[c], rec.writes[c] = val, val+deltas[i]
							if err := m.DB.Patch(ids[c], livedb.Doc{"value": val + deltas[i]}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						errs <- err
						return
					}
					if ts <= lastTS {
						errs <- fmt.Errorf("writer %d: commit timestamp %d after %d", w, ts, lastTS)
						return
					}
					lastTS = ts
					rec.ts = ts
					mu.Lock()
					hist = append(hist, rec)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		require.Len(t, hist, writers*each)

		// Commit timestamps are unique, and the last one is the DB's.
		seen := map[uint64]bool{}
		maxTS := uint64(0)
		for _, h := range hist {
			require.False(t, seen[h.ts], "two commits share timestamp %d", h.ts)
			seen[h.ts] = true
			maxTS = max(maxTS, h.ts)
		}
		assert.Equal(t, maxTS, db.LastTimestamp())

		// Each counter's (read → written) pairs form one chain from 0 to
		// the final value, and the chain follows commit timestamps, so the
		// timestamp order is a serial order that explains every read.
		final := map[int]int64{}
		for _, d := range mustCollect(t, db, "counters") {
			final[slices.Index(ids, d["_id"].(livedb.ID))] = rxInt(t, d, "value")
		}
		for c := range counters {
			var steps []rmw
			for _, h := range hist {
				if _, ok := h.reads[c]; ok {
					steps = append(steps, h)
				}
			}
			slices.SortFunc(steps, func(a, b rmw) int { return cmpU64(a.ts, b.ts) })
			cur := int64(0)
			for i, s := range steps {
				require.Equal(t, cur, s.reads[c], "counter %d: step %d (ts %d) read %d, but the value after the previous commit was %d (lost update or stale read)", c, i, s.ts, s.reads[c], cur)
				cur = s.writes[c]
			}
			assert.Equal(t, final[c], cur, "counter %d: final value", c)
		}
	})
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
