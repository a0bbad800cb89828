package livedb_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

// Every cursor Paginate hands out (after a row, split, end; both orders)
// is refused, as a Cursor and as an EndCursor, when any one character of
// it is changed into any other base64url character, and when any one byte
// of what it decodes to is changed into any other value: its MAC covers
// version, kind, fingerprint and key, and a changed MAC does not match.
// Cursors do not depend on the backend: this runs on memory only. (Cursors
// of another query or another database: TestQuery_Paginate_InvalidCursor,
// on every backend.)
func TestQuery_Paginate_EveryAlterationRefused(t *testing.T) {
	db := livedbtest.NewOptions(t, qtSchema(), looseOptions)
	qtInsert(t, db, "items", qtItems("a", qtRange(10)...))
	p1 := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3})
	done := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 100})
	desc := qtPage(t, db, qtByK(livedb.Desc), livedb.PaginationOptions{NumItems: 3})
	require.True(t, done.IsDone)
	require.NotEmpty(t, p1.SplitCursor)
	for _, tc := range []struct {
		name   string
		order  livedb.Order
		cursor string
	}{
		{"after", livedb.Asc, p1.ContinueCursor},
		{"split", livedb.Asc, p1.SplitCursor},
		{"end", livedb.Asc, done.ContinueCursor},
		{"desc after", livedb.Desc, desc.ContinueCursor},
	} {
		err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			page := func(opts livedb.PaginationOptions) error {
				_, err := qtByK(tc.order)(q.DB).Paginate(opts)
				return err
			}
			require.NoError(t, page(livedb.PaginationOptions{NumItems: 3, Cursor: tc.cursor}), tc.name)
			for _, s := range cursorAlterations(t, tc.cursor) {
				if err := page(livedb.PaginationOptions{NumItems: 3, Cursor: s}); !errors.Is(err, livedb.ErrInvalidCursor) {
					t.Fatalf("%s cursor altered to %s: %v, want ErrInvalidCursor", tc.name, s, err)
				}
				if err := page(livedb.PaginationOptions{EndCursor: s}); !errors.Is(err, livedb.ErrInvalidCursor) {
					t.Fatalf("%s end cursor altered to %s: %v, want ErrInvalidCursor", tc.name, s, err)
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
}

// cursorAlterations returns every string made from cursor by changing one
// character into another base64url character, then every one made by
// changing one byte of what it decodes to into another value.
func cursorAlterations(t *testing.T, cursor string) []string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var out []string
	for i := range len(cursor) {
		for _, c := range []byte(alphabet) {
			if c != cursor[i] {
				out = append(out, cursor[:i]+string(c)+cursor[i+1:])
			}
		}
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	require.NoError(t, err)
	for i := range b {
		for d := 1; d < 256; d++ {
			a := bytes.Clone(b)
			a[i] ^= byte(d)
			out = append(out, base64.RawURLEncoding.EncodeToString(a))
		}
	}
	return out
}
