package livedb

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// describeFmt is describe as it was written with fmt: the text a cursor's
// fingerprint hashes, which must not change (a cursor handed out before
// would stop matching its query).
func describeFmt(q *Query) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|", q.table)
	if q.ix != nil {
		b.WriteString(q.ix.name)
	}
	parts := make([]string, len(q.rng.list()))
	for i, t := range q.rng.list() {
		parts[i] = fmt.Sprintf("%s(%q, %s)", rangeOpNames[t.op], t.field, value.Format(t.value))
	}
	fmt.Fprintf(&b, "|%s|%s", strings.Join(parts, "."), q.order)
	if q.search != nil {
		fmt.Fprintf(&b, "|search=%s:%s", q.search.si.def.Name, q.search.filter)
	}
	for _, f := range q.filters {
		b.WriteString("|")
		b.WriteString(f.String())
	}
	fmt.Fprintf(&b, "|preds=%d", len(q.preds))
	return b.String()
}

// A query's description, and so its cursors' fingerprint, is the text it
// was with fmt, for ranges with quotes and odd characters in field values,
// both orders, filters and predicates.
func TestQuery_Describe_SameText(t *testing.T) {
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{
		"group": v.String(),
		"n":     v.Float64(),
	})).Index("by_group_n", "group", "n")})
	db, err := OpenMemory(s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Query(context.Background(), func(qc *QueryCtx) error {
		qs := []*Query{
			qc.DB.Query("notes"),
			qc.DB.Query("missing"),
			qc.DB.Query("notes").WithIndex("by_group_n", func(r IndexRange) IndexRange {
				return r.Eq("group", "a \"quoted\"\n\x00é").Gt("n", 1.5).Lte("n", 1e300)
			}).Order(Desc),
			qc.DB.Query("notes").WithIndex("by_group_n", nil).Filter(func(f FilterBuilder) Expr {
				return f.Eq(f.Field("n"), 2.0)
			}).FilterFunc(func(Doc) (bool, error) { return true, nil }),
		}
		for i, q := range qs {
			if got, want := q.describe(), describeFmt(q); got != want {
				t.Errorf("query %d: describe %q, want %q", i, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
