package livedb

import (
	"crypto/rand"
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
