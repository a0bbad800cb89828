package intervals_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/intervals"
)

// iv builds an interval from strings.
func iv(start, end string) intervals.Interval {
	return intervals.Interval{Start: []byte(start), End: []byte(end)}
}

// stab returns the payloads Stab reports for k, in order.
func stab(x *intervals.Index[int], k string) []int {
	var out []int
	x.Stab([]byte(k), func(v int) { out = append(out, v) })
	return out
}

// bruteContains reports whether k lies in one of ivs, in any order.
func bruteContains(ivs []intervals.Interval, k []byte) bool {
	for _, iv := range ivs {
		if bytes.Compare(iv.Start, k) <= 0 && bytes.Compare(k, iv.End) < 0 {
			return true
		}
	}
	return false
}

func TestInterval_Contains(t *testing.T) {
	tests := []struct {
		name string
		iv   intervals.Interval
		k    string
		want bool
	}{
		{"start is inside", iv("b", "d"), "b", true},
		{"middle", iv("b", "d"), "c\xff", true},
		{"end is outside", iv("b", "d"), "d", false},
		{"before", iv("b", "d"), "a\xff", false},
		{"empty interval", iv("b", "b"), "b", false},
		{"nil start is the lowest key", intervals.Interval{End: []byte("b")}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.iv.Contains([]byte(tc.k)); got != tc.want {
				t.Errorf("[%q, %q).Contains(%q) = %v, want %v", tc.iv.Start, tc.iv.End, tc.k, got, tc.want)
			}
		})
	}
}

// TestIndex_Stab_Model checks the index against a brute-force scan of
// every member's intervals: random overlapping and nested sets (sorted or
// not, with empty intervals), random changes of sets (sometimes to the same
// intervals), removals, rebuilds when NeedRebuild says so, and random keys.
func TestIndex_Stab_Model(t *testing.T) {
	seed1, seed2 := rand.Uint64(), rand.Uint64()
	t.Logf("seed: %d, %d", seed1, seed2)
	rng := rand.New(rand.NewPCG(seed1, seed2))
	key := func() []byte { return []byte{byte(rng.IntN(60)), byte(rng.IntN(4))} }
	randSet := func() []intervals.Interval {
		var out []intervals.Interval
		for range rng.IntN(5) {
			a, b := key(), key()
			if rng.IntN(8) != 0 && bytes.Compare(a, b) > 0 { // sometimes empty
				a, b = b, a
			}
			out = append(out, intervals.Interval{Start: a, End: b})
		}
		if rng.IntN(2) == 0 { // as a normalized read set
			slices.SortFunc(out, func(a, b intervals.Interval) int { return bytes.Compare(a.Start, b.Start) })
			norm := out[:0]
			for _, iv := range out {
				if bytes.Compare(iv.Start, iv.End) >= 0 {
					continue
				}
				if n := len(norm); n > 0 && bytes.Compare(iv.Start, norm[n-1].End) <= 0 {
					norm[n-1].End = slices.MaxFunc([][]byte{norm[n-1].End, iv.End}, bytes.Compare)
					continue
				}
				norm = append(norm, iv)
			}
			out = norm
		}
		return out
	}
	var x intervals.Index[int]
	type member struct {
		m   *intervals.Member[int]
		ivs []intervals.Interval // as given, before the index normalized them
	}
	live := map[int]*member{} // the model, by payload
	var all []*member
	for step := range 5000 {
		switch op := rng.IntN(10); {
		case op < 3 || len(live) == 0: // add
			ivs := randSet()
			mb := &member{ivs: slices.Clone(ivs)}
			mb.m = x.Add(len(all), ivs)
			live[len(all)] = mb
			all = append(all, mb)
		case op < 5: // a new set, sometimes the same intervals
			i := rng.IntN(len(all))
			mb := all[i]
			ivs := randSet()
			if rng.IntN(3) == 0 {
				ivs = slices.Clone(mb.m.Intervals())
			}
			x.Set(mb.m, slices.Clone(ivs))
			if live[i] != nil {
				mb.ivs = ivs
			}
		case op < 6: // remove, sometimes twice
			i := rng.IntN(len(all))
			x.Remove(all[i].m)
			delete(live, i)
		default: // stab a few keys, as a commit does
			if x.NeedRebuild() {
				x.Rebuild()
			}
			if s := x.Stats(); s.Fresh > 16 && s.Fresh*s.Fresh > 4*s.Entries || s.Stale > 16+s.Entries/2 {
				t.Fatalf("step %d: after a rebuild check %d members are fresh and %d of %d entries stale", step, s.Fresh, s.Stale, s.Entries)
			}
			for range 1 + rng.IntN(3) {
				k := key()
				got := map[int]bool{}
				x.Stab(k, func(v int) {
					if got[v] {
						t.Fatalf("step %d: member %d reported twice for key %v", step, v, k)
					}
					got[v] = true
				})
				for i, mb := range live {
					if want := bruteContains(mb.ivs, k); got[i] != want {
						t.Fatalf("step %d: member %d with intervals %q reported=%v, want %v for key %v (index %+v)",
							step, i, mb.ivs, got[i], want, k, x.Stats())
					}
					delete(got, i)
				}
				if len(got) > 0 {
					t.Fatalf("step %d: removed members %v reported for key %v", step, got, k)
				}
			}
		}
	}
}

// TestIndex_Set_SameIntervals checks that giving a member in the array the
// intervals it has changes nothing, and that new intervals make it fresh
// and its entries stale.
func TestIndex_Set_SameIntervals(t *testing.T) {
	var x intervals.Index[int]
	m := x.Add(1, []intervals.Interval{iv("a", "c"), iv("e", "g")})
	x.Add(2, []intervals.Interval{iv("b", "f")})
	if got, want := x.Stats(), (intervals.Stats{Fresh: 2}); got != want {
		t.Fatalf("after Add: Stats() = %+v, want %+v", got, want)
	}
	x.Rebuild()
	x.Set(m, []intervals.Interval{iv("a", "c"), iv("e", "g")})
	if got, want := x.Stats(), (intervals.Stats{Entries: 3}); got != want {
		t.Fatalf("after Set with the same intervals: Stats() = %+v, want %+v", got, want)
	}
	x.Set(m, []intervals.Interval{iv("a", "c")})
	if got, want := x.Stats(), (intervals.Stats{Entries: 3, Stale: 2, Fresh: 1}); got != want {
		t.Fatalf("after Set with new intervals: Stats() = %+v, want %+v", got, want)
	}
	if got := stab(&x, "f"); len(got) != 0 {
		t.Fatalf("Stab(f) = %v, want none: member 1's old entry is stale and member 2 ends at f", got)
	}
	if got := stab(&x, "e"); !slices.Equal(got, []int{2}) {
		t.Fatalf("Stab(e) = %v, want [2]", got)
	}
	x.Rebuild()
	if got, want := x.Stats(), (intervals.Stats{Entries: 2}); got != want {
		t.Fatalf("after Rebuild: Stats() = %+v, want %+v", got, want)
	}
}

// TestIndex_Add_Unnormalized checks that intervals given out of order,
// overlapping, adjacent or empty are taken as their union, both while the
// member is fresh and once it is in the array.
func TestIndex_Add_Unnormalized(t *testing.T) {
	var x intervals.Index[int]
	ivs := []intervals.Interval{iv("m", "p"), iv("c", "f"), iv("x", "x"), iv("a", "d"), iv("f", "h"), iv("o", "q")}
	m := x.Add(7, ivs)
	want := []intervals.Interval{iv("a", "h"), iv("m", "q")}
	if got := m.Intervals(); !slices.EqualFunc(got, want, func(a, b intervals.Interval) bool {
		return bytes.Equal(a.Start, b.Start) && bytes.Equal(a.End, b.End)
	}) {
		t.Fatalf("Intervals() = %q, want %q", got, want)
	}
	if ivs[0].Start[0] != 'm' {
		t.Fatalf("Add modified the caller's slice: %q", ivs)
	}
	for _, rebuilt := range []bool{false, true} {
		if rebuilt {
			x.Rebuild()
		}
		for _, k := range []string{"a", "c", "d", "e", "g", "m", "n", "p", "p\xff"} {
			if got := stab(&x, k); !slices.Equal(got, []int{7}) {
				t.Errorf("rebuilt %v: Stab(%q) = %v, want [7]", rebuilt, k, got)
			}
		}
		for _, k := range []string{"", "h", "l", "q", "x"} {
			if got := stab(&x, k); len(got) != 0 {
				t.Errorf("rebuilt %v: Stab(%q) = %v, want none", rebuilt, k, got)
			}
		}
	}
}

// TestIndex_Remove_Twice checks that removing a member twice, or giving a
// removed member intervals, does not disturb the other members or the
// stale count.
func TestIndex_Remove_Twice(t *testing.T) {
	var x intervals.Index[int]
	a := x.Add(1, []intervals.Interval{iv("a", "c")})
	b := x.Add(2, []intervals.Interval{iv("b", "d")})
	x.Add(3, []intervals.Interval{iv("c", "e")})
	x.Remove(a)
	x.Remove(a)
	x.Set(a, []intervals.Interval{iv("a", "z")})
	if got, want := x.Stats(), (intervals.Stats{Fresh: 2}); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	x.Rebuild()
	x.Remove(b)
	x.Remove(b)
	if got, want := x.Stats(), (intervals.Stats{Entries: 2, Stale: 1}); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	for k, want := range map[string][]int{"a": nil, "b": nil, "c": {3}, "y": nil} {
		if got := stab(&x, k); !slices.Equal(got, want) {
			t.Errorf("Stab(%q) = %v, want %v", k, got, want)
		}
	}
}

// BenchmarkIndexStab stabs one key among n members that each read one
// point of their own, as n subscriptions to one document each do: the
// array holds every member, and the key hits one.
func BenchmarkIndexStab(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			var x intervals.Index[int]
			key := func(i int) []byte { return fmt.Appendf(nil, "k%08d", i) }
			for i := range n {
				x.Add(i, []intervals.Interval{{Start: key(i), End: append(key(i), 0)}})
			}
			x.Rebuild()
			k := key(n / 2)
			b.ReportAllocs()
			for b.Loop() {
				hits := 0
				x.Stab(k, func(int) { hits++ })
				if hits != 1 {
					b.Fatalf("%d hits, want 1", hits)
				}
			}
		})
	}
}

// BenchmarkIndexRebuild rebuilds the array of n members of one point each.
func BenchmarkIndexRebuild(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			var x intervals.Index[int]
			for i := range n {
				k := fmt.Appendf(nil, "k%08d", (i*7919)%n)
				x.Add(i, []intervals.Interval{{Start: k, End: append(k, 0)}})
			}
			b.ReportAllocs()
			for b.Loop() {
				x.Rebuild()
			}
		})
	}
}
