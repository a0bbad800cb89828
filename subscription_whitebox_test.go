package livedb

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/livedb-go/livedb/v"
)

// TestSubscribe_FirstUpdateNeverReplacesNewer commits into a new
// subscription's read set right after its registration, and lets the
// manager re-run it and deliver the newer result before Subscribe returns.
// The first run's result must not then replace it in the channel: the
// subscriber must end up with the newest result.
func TestSubscribe_FirstUpdateNeverReplacesNewer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"n": v.Int64()}))})
		db, err := OpenMemory(s)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		count := func(q *QueryCtx) (int, error) {
			docs, err := q.DB.Query("items").Collect()
			return len(docs), err
		}
		var sub *Subscription[int]
		hook := func() {
			testHookRegistered.Store(nil)
			if err := db.Mutation(ctx, func(m *MutationCtx) error {
				_, err := m.DB.Insert("items", Doc{"n": int64(1)})
				return err
			}); err != nil {
				t.Error(err)
			}
			synctest.Wait() // the manager re-ran the subscription and delivered 1
		}
		testHookRegistered.Store(&hook)
		defer testHookRegistered.Store(nil)
		sub, err = Subscribe(ctx, db, count)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if got := sub.Reruns(); got != 1 {
			t.Fatalf("Reruns() = %d, want 1 (the hook's commit)", got)
		}
		synctest.Wait()
		select {
		case u := <-sub.Updates():
			if u.Value != 1 || u.Timestamp != db.LastTimestamp() {
				t.Fatalf("pending update = %+v, want the newest: value 1 at %d", u, db.LastTimestamp())
			}
		default:
			t.Fatal("no update pending")
		}
	})
}

// TestSubManager_MatchLocked_Model checks the interval index against a
// brute-force scan: random overlapping and nested read sets, random changes
// of read sets (fresh subscriptions, stale entries), removals, rebuilds and
// random keys.
func TestSubManager_MatchLocked_Model(t *testing.T) {
	seed1, seed2 := rand.Uint64(), rand.Uint64()
	t.Logf("seed: %d, %d", seed1, seed2)
	rng := rand.New(rand.NewPCG(seed1, seed2))
	key := func() []byte { return []byte{byte(rng.IntN(60)), byte(rng.IntN(4))} }
	randReads := func() readSet {
		var rs readSet
		for range rng.IntN(4) {
			a, b := key(), key()
			if bytes.Compare(a, b) > 0 {
				a, b = b, a
			}
			if rng.IntN(4) == 0 {
				rs.addPoint(a)
			} else {
				rs.add(a, b)
			}
		}
		rs.normalize()
		return rs
	}
	m := &subManager{subs: map[*subState]struct{}{}, fresh: map[*subState]struct{}{}}
	var all []*subState
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op < 3 || len(m.subs) == 0: // add
			st := &subState{ts: uint64(rng.IntN(5))}
			m.subs[st] = struct{}{}
			m.setReadsLocked(st, randReads())
			all = append(all, st)
		case op < 5: // new read set, sometimes the same intervals
			st := all[rng.IntN(len(all))]
			if st.removed {
				continue
			}
			rs := randReads()
			if rng.IntN(3) == 0 {
				rs = readSet{ivs: slices.Clone(st.reads.ivs), sorted: true}
			}
			m.setReadsLocked(st, rs)
			st.ts = uint64(rng.IntN(5))
		case op < 6: // remove
			st := all[rng.IntN(len(all))]
			if st.removed {
				continue
			}
			st.removed = true
			delete(m.subs, st)
			delete(m.fresh, st)
			if st.indexed {
				m.stale += len(st.reads.ivs)
			}
		default: // match a commit of a few keys
			rec := &commitRecord{ts: uint64(rng.IntN(6))}
			var keys [][]byte
			for range 1 + rng.IntN(3) {
				pd := &pendingDoc{newKeys: [][]byte{key(), nil}}
				if rng.IntN(2) == 0 {
					pd.oldKeys = [][]byte{key()}
				}
				rec.writes = append(rec.writes, pd)
				keys = append(keys, pd.newKeys[0])
				keys = append(keys, pd.oldKeys...)
			}
			got := map[*subState]bool{}
			for _, st := range m.matchLocked([]*commitRecord{rec}) {
				if got[st] {
					t.Fatalf("step %d: a subscription matched twice", step)
				}
				got[st] = true
			}
			for st := range m.subs {
				want := false
				for _, k := range keys {
					want = want || st.ts < rec.ts && st.reads.contains(k)
				}
				if got[st] != want {
					t.Fatalf("step %d: subscription with reads %v (ts %d) matched=%v, want %v for keys %v at ts %d (fresh %v, indexed %v)",
						step, st.reads.ivs, st.ts, got[st], want, keys, rec.ts, len(m.fresh), st.indexed)
				}
				delete(got, st)
			}
			if len(got) > 0 {
				t.Fatalf("step %d: %d removed subscriptions matched", step, len(got))
			}
			// A match leaves the index compact: about √n fresh
			// subscriptions and at most half of the entries stale.
			if f := len(m.fresh); f > 16 && f*f > 4*len(m.ivs) || m.stale > 16+len(m.ivs)/2 {
				t.Fatalf("step %d: after a match %d subscriptions are fresh and %d of %d entries stale", step, f, m.stale, len(m.ivs))
			}
		}
	}
}
