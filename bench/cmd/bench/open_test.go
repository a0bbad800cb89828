package main

import (
	"slices"
	"testing"
)

// TestTurnOrder_FirstAndLast checks that W7's opens take turns fairly:
// each turn is a permutation, consecutive turns are each other's reverse,
// and over two rounds every database opens first as often as the others
// when there are two.
func TestTurnOrder_FirstAndLast(t *testing.T) {
	firsts := map[int]int{}
	for round := 1; round <= 2; round++ {
		var prev []int
		for i := range 3 {
			got := turnOrder(2, i, round)
			if s := slices.Sorted(slices.Values(got)); !slices.Equal(s, []int{0, 1}) {
				t.Fatalf("round %d turn %d: %v is not a permutation of 0, 1", round, i, got)
			}
			if prev != nil && !slices.Equal(got, []int{prev[1], prev[0]}) {
				t.Errorf("round %d turn %d: %v does not reverse %v", round, i, got, prev)
			}
			prev = got
			if i == 0 {
				firsts[got[0]]++
			}
		}
	}
	if firsts[0] != 1 || firsts[1] != 1 {
		t.Errorf("the first open of a round fell on %v, want each database once", firsts)
	}
	if got := turnOrder(4, 0, 1); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("round 1 turn 0: %v, want build order", got)
	}
	if got := turnOrder(4, 1, 1); !slices.Equal(got, []int{3, 2, 1, 0}) {
		t.Errorf("round 1 turn 1: %v, want reverse", got)
	}
}
