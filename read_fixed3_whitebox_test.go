package livedb

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/v"
)

// mustFixed3DB opens a memory database with a table of notes indexed by
// group, holding n notes in group "g".
func mustFixed3DB(t *testing.T, n int) *DB { return mustGroupNotesDB(t, n, "g") }

// mustGroupNotesDB opens a memory database with a table of notes indexed
// by group, holding n notes in group g, numbered by n.
func mustGroupNotesDB(t *testing.T, n int, g string) *DB {
	t.Helper()
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{
		"group": v.String(),
		"n":     v.Float64(),
	})).Index("by_group", "group")})
	db, err := OpenMemory(s, &Options{AllowUndeclaredTables: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Mutation(context.Background(), func(m *MutationCtx) error {
		for i := range n {
			if _, err := m.DB.Insert("notes", Doc{"group": g, "n": float64(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// A page's two cursors, encoded into one string by encodeCursors, are
// the cursors encodeCursor writes one by one, for every kind of pair: an
// end and a key, two keys, and keys too long for the stack buffers.
func TestQuery_EncodeCursors_SameAsEncodeCursor(t *testing.T) {
	db := mustFixed3DB(t, 1)
	long := bytes.Repeat([]byte{0x42}, 300)
	pairs := [][2]cursor{
		{{end: true}, {key: []byte("k1")}},
		{{key: []byte("abc")}, {key: []byte("abd")}},
		{{key: long}, {key: []byte("x")}},
		{{key: []byte("x")}, {key: long}},
		{{key: long}, {key: long[:200]}},
	}
	err := db.Query(context.Background(), func(qc *QueryCtx) error {
		q := qc.DB.Query("notes").WithIndex("by_group", func(r IndexRange) IndexRange { return r.Eq("group", "g") })
		if _, err := q.plan(); err != nil {
			return err
		}
		for i, p := range pairs {
			a, b := q.encodeCursors(p[0], p[1])
			if wa, wb := q.encodeCursor(p[0]), q.encodeCursor(p[1]); a != wa || b != wb {
				t.Errorf("pair %d: encodeCursors = %q, %q; encodeCursor gives %q, %q", i, a, b, wa, wb)
			}
			if wa, wb := refCursor(q, p[0]), refCursor(q, p[1]); a != wa || b != wb {
				t.Errorf("pair %d: encodeCursors = %q, %q; the format gives %q, %q", i, a, b, wa, wb)
			}
			if c, err := q.decodeCursor(b); err != nil || !bytes.Equal(c.key, p[1].key) {
				t.Errorf("pair %d: the second cursor decodes to %x, %v", i, c.key, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// refCursor is a cursor as the format says: version, kind,
// fingerprint, key and the MAC of those, in URL-safe base64.
func refCursor(q *Query, c cursor) string {
	b := []byte{cursorVersion, cursorKindAfter}
	if c.end {
		b[1] = cursorKindEnd
	}
	b = append(append(b, q.fingerprint()...), c.key...)
	return base64.RawURLEncoding.EncodeToString(macCursor(b, q.tx.cat, b))
}

// prefixEndAfter is prefixEnd, written after the prefix in its array when
// there is room, and it leaves the prefix as it was.
func TestPrefixEndAfter_SameAsPrefixEnd(t *testing.T) {
	for _, p := range [][]byte{
		{0x05, 0, 0, 0, 3}, {0x05, 0xFF}, {0x05, 0x10, 0xFF, 0xFF}, {0xFF, 0xFF}, {}, {0},
	} {
		for _, room := range []int{0, 1, 64} {
			buf := make([]byte, len(p), len(p)+room)
			copy(buf, p)
			got := prefixEndAfter(buf)
			if want := prefixEnd(p); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("prefixEndAfter(%x) with room %d = %x, prefixEnd gives %x", p, room, got, want)
			}
			if !bytes.Equal(buf, p) {
				t.Errorf("prefixEndAfter(%x) with room %d changed the prefix to %x", p, room, buf)
			}
			if cap(got) != len(got) {
				t.Errorf("prefixEndAfter(%x): capacity %d beyond its length %d", p, cap(got), len(got))
			}
		}
	}
}

// A scan that stops before the end of its range records [start,
// successor of the last key): the successor goes in the room the Query's
// key buffer has left, which must not overlap the range's own keys, and
// gives the interval a fresh successor would. Checked for a range whose
// keys leave room (a short group) and one whose keys fill the buffer (a
// long group), with Take and with Paginate, on a whole index too.
func TestScanner_Successor_ReadSetExact(t *testing.T) {
	for _, group := range []string{"g", strings.Repeat("long group ", 8)} {
		for _, how := range []string{"take", "paginate", "whole"} {
			t.Run(fmt.Sprintf("%s/%d", how, len(group)), func(t *testing.T) {
				db := mustFixed3DB(t, 0)
				err := db.Mutation(context.Background(), func(m *MutationCtx) error {
					for i := range 5 {
						if _, err := m.DB.Insert("notes", Doc{"group": group, "n": float64(i)}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				var got []Doc
				var ix *indexInfo
				var q *Query
				tx, err := db.query(context.Background(), func(qc *QueryCtx) (err error) {
					q = qc.DB.Query("notes")
					if how == "whole" {
						q.WithIndex("by_group", nil)
					} else {
						q.WithIndex("by_group", func(r IndexRange) IndexRange { return r.Eq("group", group) })
					}
					ix = q.ix
					if how == "take" {
						got, err = q.Take(2)
						return err
					}
					res, err := q.Paginate(PaginationOptions{NumItems: 2})
					got = res.Page
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 {
					t.Fatalf("%d rows, want 2", len(got))
				}
				start := bytes.Clone(ix.prefix) // the whole index
				if how != "whole" {
					start = appendColumnKey(append([]byte(nil), ix.prefix...), ix, "group", group)
				}
				want := interval{Start: start, End: keySuccessor(indexKey(ix, got[1]))}
				if n := tx.reads.len(); n != 1 {
					t.Fatalf("%d intervals read, want 1", n)
				}
				if iv := tx.reads.ivs[0]; !bytes.Equal(iv.Start, want.Start) || !bytes.Equal(iv.End, want.End) {
					t.Errorf("read [%x, %x), want [%x, %x)", iv.Start, iv.End, want.Start, want.End)
				}
				// The range's own keys, in the key buffer when they fit,
				// are as compiled: the successor went after them.
				cr, err := q.rng.compile(ix, ix.table.validator, nil)
				if err != nil {
					t.Fatal(err)
				}
				keys := cr.end // an equality's start is the first bytes of its end
				if how == "whole" {
					keys = append(bytes.Clone(cr.start), cr.end...)
				}
				if len(keys) <= len(q.keyBuf) && !bytes.HasPrefix(q.keyBuf[:], keys) {
					t.Errorf("the key buffer holds %x, want the range's keys %x first", q.keyBuf, keys)
				}
			})
		}
	}
}

// DB.Query does not journal its page ends, which no one reads; the
// transaction of a subscription's run still does (Registry.SubscribePublic
// hands it out).
func TestDB_Query_NoPageJournal(t *testing.T) {
	db := mustFixed3DB(t, 3)
	page := func(qc *QueryCtx) error {
		_, err := qc.DB.Query("notes").Paginate(PaginationOptions{NumItems: 2})
		return err
	}
	tx, err := db.query(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	if tx.journalOut != nil {
		t.Errorf("DB.Query's journal holds %q, want nothing", tx.journalOut)
	}
	tx, err = db.begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.end(tx)
	if err := page(&QueryCtx{DB: &Reader{tx: tx}, ctx: context.Background()}); err != nil {
		t.Fatal(err)
	}
	if len(tx.journalOut) != 1 {
		t.Errorf("a subscription's run journals %q, want one page end", tx.journalOut)
	}
}

// A query's snapshot timestamp and catalog follow every commit, though
// the last commit's record is read only when it changed: each query sees
// the timestamp of the mutation before it, and the table a mutation
// created (a new catalog generation).
func TestDB_SnapshotTS_FollowsCommits(t *testing.T) {
	db := mustFixed3DB(t, 1)
	ctx := context.Background()
	for i := range 5 {
		table := fmt.Sprintf("extra%d", i)
		ts, err := db.MutationTS(ctx, func(m *MutationCtx) error {
			_, err := m.DB.Insert(table, Doc{"i": float64(i)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second reads the timestamp the first kept
			tx, err := db.query(ctx, func(qc *QueryCtx) error {
				docs, err := qc.DB.Query(table).Collect()
				if err == nil && len(docs) != 1 {
					err = fmt.Errorf("table %s holds %d documents, want 1", table, len(docs))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if tx.ts != ts {
				t.Fatalf("after commit %d the query's snapshot is at %d, want %d", ts, tx.ts, ts)
			}
		}
		if r := db.lastTSRead.Load(); r == nil || r.ts != ts {
			t.Fatalf("the kept record is %+v, want timestamp %d", r, ts)
		}
	}
}
