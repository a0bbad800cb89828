package livedb

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// mustLongKeyDB opens a memory database of notes indexed by a group of 60
// characters, so that an index entry's key is too long for the room a
// whole index's range leaves in a Query's key buffer.
func mustLongKeyDB(t *testing.T, n int) *DB {
	t.Helper()
	return mustGroupNotesDB(t, n, strings.Repeat("g", 60))
}

// A decoded cursor's key may grow in place over its MAC only: the room
// after the cursor's bytes, which a page's successor key is written into,
// is beyond the key's capacity, and holds a key longer than the cursor.
func TestQuery_DecodeCursor_RoomApartFromKey(t *testing.T) {
	db := mustLongKeyDB(t, 3)
	err := db.Query(context.Background(), func(qc *QueryCtx) error {
		q := qc.DB.Query("notes").WithIndex("by_group", nil)
		res, err := q.Paginate(PaginationOptions{NumItems: 1})
		if err != nil {
			return err
		}
		c, err := qc.DB.Query("notes").WithIndex("by_group", nil).decodeCursor(res.ContinueCursor)
		if err != nil {
			return err
		}
		if cap(c.key) != len(c.key)+cursorMACLen {
			t.Errorf("key of %d bytes has capacity %d, want %d", len(c.key), cap(c.key), len(c.key)+cursorMACLen)
		}
		if len(c.room) <= len(c.key)+1 {
			t.Errorf("room of %d bytes for a key of %d", len(c.room), len(c.key))
		}
		key := append([]byte(nil), c.key...)
		for i := range c.room {
			c.room[i] = 0xEE
		}
		grown := append(c.key[:len(c.key):cap(c.key)], make([]byte, cursorMACLen+1)...)
		if string(c.key) != string(key) || &grown[0] == &c.key[0] {
			t.Errorf("the key changed, or grew in place past its MAC")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Page k of a Paginate allocates as often as page 1 on keys too long for
// the Query's key buffer: both record a successor key in their read set,
// which page 1 allocates, and page k writes into the spare room of its
// decoded cursor, its one allocation more.
func TestQuery_Paginate_CursorPageAllocs(t *testing.T) {
	db := mustLongKeyDB(t, 10)
	ctx := context.Background()
	page := func(cursor string) (next string) {
		err := db.Query(ctx, func(qc *QueryCtx) error {
			res, err := qc.DB.Query("notes").WithIndex("by_group", nil).Paginate(PaginationOptions{NumItems: 2, Cursor: cursor})
			next = res.ContinueCursor
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	c1 := page("")
	first := leastAllocs(50, func() { page("") })
	later := leastAllocs(50, func() { page(c1) })
	if later != first {
		t.Errorf("page 2 allocates %.0f times, page 1 %.0f: want as many", later, first)
	}
}

// leastAllocs returns the fewest allocations one call of f made over n
// calls. The mean would count the pools' misses: under the race detector
// sync.Pool drops some of what it is given, at random, and a page that
// then finds a pool of MAC states empty allocates once more.
func leastAllocs(n int, f func()) float64 {
	least := math.Inf(1)
	for range n {
		least = min(least, testing.AllocsPerRun(1, f))
	}
	return least
}

// A cursor longer than any livedb writes is refused before its text is
// decoded (a network peer's cursor is bad input too), and one of the
// longest length livedb can write is not refused for its length.
func TestQuery_DecodeCursor_RefusesOverlongText(t *testing.T) {
	db := mustLongKeyDB(t, 3)
	err := db.Query(context.Background(), func(q *QueryCtx) error {
		long := strings.Repeat("A", maxCursorText+4)
		_, err := q.DB.Query("notes").WithIndex("by_group", nil).Paginate(PaginationOptions{NumItems: 1, Cursor: long})
		if !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("Paginate with a cursor of %d characters: %v, want ErrInvalidCursor", len(long), err)
		}
		if _, err := decodeCursorText(long); !errors.Is(err, errCursorTooLong) {
			t.Errorf("decodeCursorText of %d characters: %v, want errCursorTooLong", len(long), err)
		}
		if _, err := decodeCursorText(strings.Repeat("A", maxCursorText)); err != nil {
			t.Errorf("decodeCursorText of the longest cursor text (%d characters): %v", maxCursorText, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
