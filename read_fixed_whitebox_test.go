package livedb

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// rangeValueByConform is rangeValue for a field with validator fv as it
// was before ID fields skipped conform: conform's result, else Normalize's.
func rangeValueByConform(fv v.Validator, x any) (any, error) {
	if value.IsUndefined(x) {
		return x, nil
	}
	if y, err := conform(fv, x, nil); err == nil {
		return y, nil
	}
	return value.Normalize(x)
}

// A range value on an ID field is what conform made of it before the
// shortcut, for every kind of value: a valid ID as a string and as an ID,
// an ID of another table, text that is not an ID, text that is not
// UTF-8 (an error), a number, Undefined.
func TestRangeValue_IDField_SameAsConform(t *testing.T) {
	tv := v.Object(v.Fields{"ref": v.ID("workflows"), "name": v.String()})
	good, err := id.New(id.FirstUserTableNumber, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := id.New(id.FirstUserTableNumber+7, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []any{
		good, ID(good), other, good[:len(good)-1] + "x", "not an id", "", "bad \xff utf-8",
		ID("bad \xff"), 1.5, int64(3), nil, Undefined,
	} {
		got, gotErr := rangeValue(tv, "ref", x)
		want, wantErr := rangeValueByConform(v.ID("workflows"), x)
		if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("rangeValue(ref, %#v) = %#v, %v; conform gave %#v, %v", x, got, gotErr, want, wantErr)
		}
		if gotErr != nil && !errors.Is(gotErr, wantErr) && gotErr.Error() != wantErr.Error() {
			t.Errorf("rangeValue(ref, %#v): error %q, conform's %q", x, gotErr, wantErr)
		}
	}
}

// The fingerprint of a cursor hashes the text describe writes, built by
// appendDescribe without allocating: the two must agree for every kind of
// range value (plain and quoted strings, IDs, numbers, booleans, null,
// bytes, Undefined, arrays, objects), both orders, filters and
// predicates, or the cursors handed out before would stop matching.
func TestQuery_AppendDescribe_SameAsDescribe(t *testing.T) {
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{
		"g": v.Any(),
		"n": v.Float64(),
	})).Index("by_g_n", "g", "n")})
	db, err := OpenMemory(s, &Options{AllowUndeclaredTables: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	good, err := id.New(id.FirstUserTableNumber, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	values := []any{"plain text 123", "a \"quoted\"\n\x00é", "back\\slash", "", good, ID(good),
		1.5, 1e300, int64(-7), true, nil, []byte{1, 2, 3}, Undefined, []any{"x", 2.0}, map[string]any{"k": "v"}}
	err = db.Query(context.Background(), func(qc *QueryCtx) error {
		var qs []*Query
		for _, x := range values {
			qs = append(qs, qc.DB.Query("notes").WithIndex("by_g_n", func(r IndexRange) IndexRange {
				return r.Eq("g", x).Gt("n", 2.5)
			}))
		}
		qs = append(qs,
			qc.DB.Query("notes"),
			qc.DB.Query("missing"),
			qc.DB.Query("notes").WithIndex("by_g_n", nil).Order(Desc).Filter(func(f FilterBuilder) Expr {
				return f.Eq(f.Field("n"), 2.0)
			}).FilterFunc(func(Doc) (bool, error) { return true, nil }),
		)
		for i, q := range qs {
			if _, err := q.plan(); err != nil { // normalizes the range values, as Paginate does first
				return err
			}
			want := describeFmt(q)
			if got := string(q.appendDescribe(nil)); got != want {
				t.Errorf("query %d: appendDescribe %q, want %q", i, got, want)
			}
			if got, want := q.fingerprint(), sha256.Sum256([]byte(want)); !bytes.Equal(got, want[:8]) {
				t.Errorf("query %d: fingerprint %x, want %x", i, got, want[:8])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
