package livedb

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"reflect"
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
		db := openItemsMemory(t)
		ctx := context.Background()
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
		var err error
		sub, err = Subscribe(ctx, db, countItems)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if got := SubscriptionReruns(sub); got != 1 {
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
	m := &subManager{subs: map[*subState]struct{}{}}
	var all []*subState
	reads := map[*subState]readSet{} // the model: each subscription's read set
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op < 3 || len(m.subs) == 0: // add
			st := &subState{ts: uint64(rng.IntN(5))}
			m.subs[st] = struct{}{}
			reads[st] = randReads()
			m.setReadsLocked(st, reads[st])
			all = append(all, st)
		case op < 5: // new read set, sometimes the same intervals
			st := all[rng.IntN(len(all))]
			if st.removed {
				continue
			}
			rs := randReads()
			if rng.IntN(3) == 0 {
				rs = readSet{ivs: slices.Clone(reads[st].ivs), sorted: true}
			}
			reads[st] = rs
			m.setReadsLocked(st, rs)
			st.ts = uint64(rng.IntN(5))
		case op < 6: // remove
			st := all[rng.IntN(len(all))]
			if st.removed {
				continue
			}
			st.removed = true
			delete(m.subs, st)
			m.index.Remove(st.reads)
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
			m.matchSeq++
			for _, st := range m.matchLocked([]*commitRecord{rec}, nil) {
				if got[st] {
					t.Fatalf("step %d: a subscription matched twice", step)
				}
				got[st] = true
			}
			for st := range m.subs {
				want := false
				for _, k := range keys {
					rs := reads[st]
					want = want || st.ts < rec.ts && rs.contains(k)
				}
				if got[st] != want {
					t.Fatalf("step %d: subscription with reads %v (ts %d) matched=%v, want %v for keys %v at ts %d (index %+v)",
						step, reads[st].ivs, st.ts, got[st], want, keys, rec.ts, m.index.Stats())
				}
				delete(got, st)
			}
			if len(got) > 0 {
				t.Fatalf("step %d: %d removed subscriptions matched", step, len(got))
			}
			// A match leaves the index compact: about √n fresh
			// subscriptions and at most half of the entries stale.
			if s := m.index.Stats(); s.Fresh > 16 && s.Fresh*s.Fresh > 4*s.Entries || s.Stale > 16+s.Entries/2 {
				t.Fatalf("step %d: after a match %d subscriptions are fresh and %d of %d entries stale", step, s.Fresh, s.Stale, s.Entries)
			}
		}
	}
}

// sameValue decides whether a re-run's result is news. It must agree with
// reflect.DeepEqual on documents and the values in them, except for floats,
// which it compares by their bits.
func TestSameValue(t *testing.T) {
	doc := func(status string) Doc {
		return Doc{"_id": "a", "_creationTime": 1.5, "status": status, "n": int64(3),
			"tags": []any{"x", int64(1), nil}, "meta": map[string]any{"ok": true, "b": []byte{1}}}
	}
	type pair struct{ A, B int }
	nan := math.NaN()
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"equal documents", doc("running"), doc("running"), true},
		{"a field differs", doc("running"), doc("done"), false},
		{"pages of documents", []Doc{doc("a"), doc("b")}, []Doc{doc("a"), doc("b")}, true},
		{"pages differ in order", []Doc{doc("a"), doc("b")}, []Doc{doc("b"), doc("a")}, false},
		{"pages differ in length", []Doc{doc("a")}, []Doc{doc("a"), doc("a")}, false},
		{"nil page and empty page", []Doc(nil), []Doc{}, false},
		{"missing key", Doc{"a": int64(1)}, Doc{"b": int64(1)}, false},
		{"a field added", Doc{"a": int64(1)}, Doc{"a": int64(1), "b": int64(2)}, false},
		{"a nested field added", map[string]any{"o": map[string]any{}}, map[string]any{"o": map[string]any{"b": nil}}, false},
		{"nil value and missing key", Doc{"a": nil}, Doc{"b": nil}, false},
		{"int64 and float64", int64(1), float64(1), false},
		{"NaN is NaN", nan, nan, true},
		{"-0 and 0", math.Copysign(0, -1), 0.0, false},
		{"bytes", []byte{1, 2}, []byte{1, 2}, true},
		{"bytes differ", []byte{1, 2}, []byte{1, 3}, false},
		{"nested array differs", []any{[]any{int64(1)}}, []any{[]any{int64(2)}}, false},
		{"Doc and map", Doc{"a": true}, map[string]any{"a": true}, false},
		{"nil and nil", nil, nil, true},
		{"nil and document", nil, doc("a"), false},
		{"other types: structs", pair{1, 2}, pair{1, 2}, true},
		{"other types: structs differ", pair{1, 2}, pair{1, 3}, false},
		{"other types: int", 7, 7, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameValue(tc.a, tc.b); got != tc.want {
				t.Errorf("sameValue(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := sameValue(tc.b, tc.a); got != tc.want {
				t.Errorf("sameValue(%v, %v) (swapped) = %v, want %v", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

// BenchmarkSameValue compares a page of ten 430-byte documents with an
// equal one, as a re-run whose result did not change does.
func BenchmarkSameValue(b *testing.B) {
	page := func() []Doc {
		var out []Doc
		for i := range 10 {
			out = append(out, Doc{"_id": "j57038gp4d441pjknxj0ndjk7s8jyn2d", "_creationTime": 1.7e12 + float64(i),
				"workflowId": "wf-000000000000000000000000000012", "status": "running", "agentType": "coder",
				"startedAt": int64(i), "input": string(bytes.Repeat([]byte("i"), 170)), "output": string(bytes.Repeat([]byte("o"), 120))})
		}
		return out
	}
	x, y := page(), page()
	for _, c := range []struct {
		name string
		eq   func(a, b any) bool
	}{{"sameValue", sameValue}, {"reflect.DeepEqual", reflect.DeepEqual}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !c.eq(x, y) {
					b.Fatal("equal pages compared unequal")
				}
			}
		})
	}
}

// openItemsMemory opens a memory DB with one table, items {n: int64},
// closed when the test ends.
func openItemsMemory(t *testing.T) *DB {
	t.Helper()
	db, err := OpenMemory(DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"n": v.Int64()}))}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// countItems is a subscription query: how many items there are.
func countItems(q *QueryCtx) (int, error) {
	docs, err := q.DB.Query("items").Collect()
	return len(docs), err
}

// TestOwnIntervals_SharesNothing checks that a subscription's copy of a
// run's read set shares no key bytes with the run: writing over the run's
// buffers (as a reused txn, query or scanner would) leaves the copy as it
// was.
func TestOwnIntervals_SharesNothing(t *testing.T) {
	buf := []byte("abcdefgh")
	ivs := []interval{{Start: buf[0:2], End: buf[2:4]}, {Start: buf[4:6], End: nil}, {Start: nil, End: buf[6:8]}}
	got := ownIntervals(ivs)
	for i := range buf {
		buf[i] = 'x'
	}
	want := []interval{{Start: []byte("ab"), End: []byte("cd")}, {Start: []byte("ef"), End: []byte{}}, {Start: []byte{}, End: []byte("gh")}}
	if len(got) != len(want) {
		t.Fatalf("ownIntervals gave %d intervals, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Start, want[i].Start) || !bytes.Equal(got[i].End, want[i].End) {
			t.Errorf("interval %d = [%q, %q), want [%q, %q)", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
	}
	// Growing one copied key must not write over the next one.
	_ = append(got[0].Start, 'z')
	if !bytes.Equal(got[0].End, []byte("cd")) {
		t.Errorf("appending to a copied start changed its end to %q", got[0].End)
	}
}
