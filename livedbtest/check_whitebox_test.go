package livedbtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// recordTB records errors and cleanups.
type recordTB struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }
func (r *recordTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestMustCheckClose_ReportsInconsistency(t *testing.T) {
	saved := check
	t.Cleanup(func() { check = saved })
	check = func(db *livedb.DB, ctx context.Context) error {
		return fmt.Errorf("%w: index by_text has an entry for a missing document", livedb.ErrCorrupt)
	}
	tb := &recordTB{TB: t}
	db := New(tb, livedb.DefineSchema(livedb.Tables{"notes": livedb.DefineTable(v.Object(v.Fields{"text": v.String()}))}))
	require.Len(t, tb.cleanups, 1)
	tb.cleanups[0]()
	require.Len(t, tb.errors, 1, "an inconsistent database fails the test")
	assert.Contains(t, tb.errors[0], "index by_text has an entry for a missing document")
	err := db.Query(context.Background(), func(*livedb.QueryCtx) error { return nil })
	assert.True(t, errors.Is(err, livedb.ErrClosed), "the database is closed even when the check fails")
}
