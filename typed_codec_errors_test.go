package livedb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// errThing is a document of the table "things", whose field n may hold
// any value.
type errThing struct {
	ID livedb.Ref[errThing] `json:"_id"`
	N  any                  `json:"n"`
}

// errBadType has a field that no value can be mapped through.
type errBadType struct {
	C chan int `json:"c"`
}

// TestCodecError_ErrorsAs_EveryEntryPoint checks that every way into the
// struct mapping, whichever layer finds the fault, reports a *CodecError
// that errors.As finds, with the table, document and paths filled in.
func TestCodecError_ErrorsAs_EveryEntryPoint(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{"things": livedb.DefineTable(v.Object(v.Fields{"n": v.Any()}))})
	db := livedbtest.New(t, s)
	things := livedb.NewTable[errThing]("things")
	thingPtrs := livedb.NewTable[*errThing]("things")
	var ref livedb.Ref[errThing]
	mustTypedMutate(t, db, func(w *livedb.Writer) error {
		var err error
		ref, err = things.Insert(w, errThing{N: 1.0})
		return err
	})
	// inMutation returns the error of fn, run in a mutation that commits
	// nothing else.
	inMutation := func(t *testing.T, fn func(w *livedb.Writer) error) error {
		var got error
		mustTypedMutate(t, db, func(w *livedb.Writer) error {
			got = fn(w)
			return nil
		})
		return got
	}
	ch := make(chan int)
	const chanReason = "chan int is not supported (kind chan)"
	returnsChan := livedb.NewQuery(livedb.FunctionDef[livedb.Doc, any]{Name: "chan", Returns: v.Object(v.Fields{})},
		func(*livedb.QueryCtx, livedb.Doc) (any, error) { return map[string]any{"c": ch}, nil })

	cases := []struct {
		name string
		run  func(t *testing.T) error
		want livedb.CodecError
	}{{
		name: "NewTable",
		run:  func(*testing.T) error { return livedb.NewTable[errBadType]("things").Err() },
		want: livedb.CodecError{Op: "type", Table: "things", Path: ".c", Field: "errBadType.C", Reason: chanReason},
	}, {
		name: "Insert",
		run: func(t *testing.T) error {
			return inMutation(t, func(w *livedb.Writer) error { _, err := things.Insert(w, errThing{N: ch}); return err })
		},
		want: livedb.CodecError{Op: "encode", Table: "things", Path: ".n", Field: "errThing.N", Reason: chanReason},
	}, {
		name: "Insert nil",
		run: func(t *testing.T) error {
			return inMutation(t, func(w *livedb.Writer) error { _, err := thingPtrs.Insert(w, nil); return err })
		},
		want: livedb.CodecError{Op: "encode", Table: "things", Field: "errThing", Reason: "nil value"},
	}, {
		name: "Replace",
		run: func(t *testing.T) error {
			return inMutation(t, func(w *livedb.Writer) error { return things.Replace(w, ref, errThing{N: ch}) })
		},
		want: livedb.CodecError{Op: "encode", Table: "things", ID: ref.ID(), Path: ".n", Field: "errThing.N", Reason: chanReason},
	}, {
		name: "Patch",
		run: func(t *testing.T) error {
			return inMutation(t, func(w *livedb.Writer) error { return things.Patch(w, ref, livedb.Doc{"n": ch}) })
		},
		want: livedb.CodecError{Op: "encode", Table: "things", ID: ref.ID(), Path: ".n", Field: `Doc["n"]`, Reason: chanReason},
	}, {
		name: "ToDoc",
		run:  func(*testing.T) error { _, err := livedb.ToDoc(errThing{N: ch}); return err },
		want: livedb.CodecError{Op: "encode", Path: ".n", Field: "errThing.N", Reason: chanReason},
	}, {
		name: "FromDoc",
		run: func(*testing.T) error {
			_, err := livedb.FromDoc[errBadType](livedb.Doc{"_id": ref.ID(), "c": 1.0})
			return err
		},
		want: livedb.CodecError{Op: "decode", ID: ref.ID(), Path: ".c", Field: "errBadType.C", Reason: chanReason},
	}, {
		name: "function result",
		run: func(t *testing.T) error {
			_, err := returnsChan.Call(context.Background(), db, livedb.Doc{})
			var re *livedb.ReturnsError
			assert.ErrorAs(t, err, &re, "a result that cannot be mapped is a ReturnsError")
			return err
		},
		want: livedb.CodecError{Op: "encode", Path: ".c", Field: `["c"]`, Reason: chanReason},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.run(t)
			var ce *livedb.CodecError
			require.ErrorAs(t, got, &ce, "error %v", got)
			assert.Equal(t, tc.want, *ce)
		})
	}
}
