package livedb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// PaginationOptions reads Convex's paginationOpts as a Convex client sends
// it (cursor and endCursor null, an id the server does not read), and
// encodes back to what v.PaginationOpts accepts: "" left out, not null.
// The way back is checked as a function called in-process checks its
// arguments: encoded, then conformed to its args validator.
func TestPaginationOptions_FromDoc_ConvexShape(t *testing.T) {
	db := fnMustOpenMemory(t)
	tests := []struct {
		name string
		in   map[string]any
		want livedb.PaginationOptions
		back livedb.Doc
	}{
		{"first page", map[string]any{"numItems": 10.0, "cursor": nil, "id": 3.0},
			livedb.PaginationOptions{NumItems: 10}, livedb.Doc{"numItems": 10}},
		{"null end cursor", map[string]any{"numItems": 5.0, "cursor": "c1", "endCursor": nil},
			livedb.PaginationOptions{NumItems: 5, Cursor: "c1"}, livedb.Doc{"numItems": 5, "cursor": "c1"}},
		{"every field", map[string]any{"numItems": 2.0, "cursor": "c1", "endCursor": "c2", "maximumRowsRead": 100.0, "maximumBytesRead": 4096.0, "id": 1.0},
			livedb.PaginationOptions{NumItems: 2, Cursor: "c1", EndCursor: "c2", MaximumRowsRead: 100, MaximumBytesRead: 4096},
			livedb.Doc{"numItems": 2, "cursor": "c1", "endCursor": "c2", "maximumRowsRead": 100, "maximumBytesRead": 4096}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, v.PaginationOpts().Validate(tc.in), "what a Convex client sends")
			got, err := livedb.FromDoc[livedb.PaginationOptions](livedb.Doc(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

			back, err := livedb.ToDoc(got)
			require.NoError(t, err)
			assert.Equal(t, tc.back, back)
			_, err = pubPage.Call(context.Background(), db, pubPageArgs{PaginationOpts: got})
			var argErr *livedb.ArgumentError
			require.False(t, errors.As(err, &argErr), "encoded back, v.PaginationOpts accepts it: %v", err)
			if got.Cursor == "" {
				require.NoError(t, err, "the first page runs")
			}
		})
	}
}
