package livedb_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// An index range that breaks the grammar is an invalid query: its
// *IndexRangeError wraps ErrInvalidQuery, names the table, index and field,
// and keeps the cause of a value that did not convert.
func TestQuery_WithIndex_RangeErrorIsInvalidQuery(t *testing.T) {
	cases := []struct {
		name      string
		index     string
		rng       func(livedb.IndexRange) livedb.IndexRange
		wantField string
		wantCause bool
	}{
		{"fields out of order", "by_g_k", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("k", 1.0) }, "k", false},
		{"field not in the index", "by_k", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("g", "a") }, "g", false},
		{"value that does not convert", "by_k", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("k", make(chan int)) }, "k", true},
	}
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				qtRead(t, db, func(r *livedb.Reader) error {
					_, err := r.Query("items").WithIndex(tc.index, tc.rng).Collect()
					require.ErrorIs(t, err, livedb.ErrInvalidQuery)
					var re *livedb.IndexRangeError
					require.ErrorAs(t, err, &re)
					assert.Equal(t, "items", re.Table)
					assert.Equal(t, tc.index, re.Index)
					assert.Equal(t, tc.wantField, re.Field)
					if tc.wantCause {
						require.Error(t, re.Err, "the cause of a value that did not convert")
						assert.True(t, errors.Is(err, re.Err), "the cause stays reachable by errors.Is")
					} else {
						assert.NoError(t, re.Err)
					}
					MustCleanErrorText(t, err, "")
					return nil
				})
			})
		}
	})
}
