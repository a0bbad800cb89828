package livedb_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/livedb-go/livedb"
)

// flatNote reads a note of noteSchema into strings only: a flat type,
// whose decoding of a cached version the memory backend keeps.
type flatNote struct {
	ID    livedb.Ref[flatNote] `json:"_id"`
	Group string               `json:"group"`
	Note  string               `json:"note"`
}

// flatNoteOnly is another flat type reading the same notes.
type flatNoteOnly struct {
	Note  string `json:"note"`
	Extra int64  `json:"extra"`
}

// countedText is a string field decoded by UnmarshalText, which counts
// its calls.
type countedText string

var countedTextCalls atomic.Int64

// MarshalText returns the text.
func (c countedText) MarshalText() ([]byte, error) { return []byte(c), nil }

// UnmarshalText stores the text and counts the call.
func (c *countedText) UnmarshalText(b []byte) error {
	countedTextCalls.Add(1)
	*c = countedText(b)
	return nil
}

// textNote reads a note's text through countedText.
type textNote struct {
	Note countedText `json:"note"`
}

// Two flat types reading the same note in turn, through every typed read,
// in several transactions, each get their own fields; changing a result
// changes nothing the next read returns.
func TestTable_Get_FlatTypesCopyTheirOwn(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			id, err = m.DB.Insert("notes", noteDoc("g", "n1"))
			return err
		})
		readsA := typedNoteReads(livedb.NewTable[flatNote]("notes"))
		readsB := typedNoteReads(livedb.NewTable[flatNoteOnly]("notes"))
		for round := range 3 {
			err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
				for i := range readsA {
					a, err := readsA[i].read(q.DB, livedb.Ref[flatNote](id))
					if err != nil {
						return fmt.Errorf("%s: %w", readsA[i].name, err)
					}
					if want := (flatNote{ID: livedb.Ref[flatNote](id), Group: "g", Note: "n1"}); a != want {
						t.Errorf("round %d %s: flatNote %+v, want %+v", round, readsA[i].name, a, want)
					}
					a.Note, a.Group = "scribbled", "scribbled"
					b, err := readsB[i].read(q.DB, livedb.Ref[flatNoteOnly](id))
					if err != nil {
						return fmt.Errorf("%s: %w", readsB[i].name, err)
					}
					if want := (flatNoteOnly{Note: "n1"}); b != want {
						t.Errorf("round %d %s: flatNoteOnly %+v, want %+v", round, readsB[i].name, b, want)
					}
					b.Note = "scribbled"
				}
				// Scribble on a result in place, in the slice Collect returns.
				tbA := livedb.NewTable[flatNote]("notes")
				for range 2 {
					xs, err := tbA.Query(q.DB).Collect()
					if err != nil {
						return err
					}
					if len(xs) != 1 || xs[0].Note != "n1" {
						t.Errorf("round %d: Collect after scribbling: %+v", round, xs)
					}
					xs[0].Note = "scribbled"
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A type decoded by a method of the user's is decoded on every read, never
// copied from an earlier read: UnmarshalText runs once per read.
func TestTable_Get_TextTypeDecodedEveryRead(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			id, err = m.DB.Insert("notes", noteDoc("g", "n1"))
			return err
		})
		tb := livedb.NewTable[textNote]("notes")
		before := countedTextCalls.Load()
		const reads = 4
		for range reads {
			err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
				x, ok, err := tb.Get(q.DB, livedb.Ref[textNote](id))
				if err == nil && (!ok || x.Note != "n1") {
					err = fmt.Errorf("got %+v, %v", x, ok)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := countedTextCalls.Load() - before; got != reads {
			t.Errorf("UnmarshalText ran %d times for %d reads", got, reads)
		}
	})
}
