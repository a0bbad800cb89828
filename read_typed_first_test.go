package livedb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
)

// firstRow is a flat type with a field of every flat kind, the system
// fields, and a nested struct.
type firstRow struct {
	ID      livedb.Ref[firstRow] `json:"_id"`
	Created float64              `json:"_creationTime"`
	S       string               `json:"s"`
	N       int64                `json:"n"`
	F       float64              `json:"f"`
	B       bool                 `json:"b"`
	In      struct {
		K string `json:"k"`
		M int64  `json:"m"`
	} `json:"in"`
}

// A typed Get's first read of a version (decoded, and kept on the
// memory backend), its second (the kept T copied) and FromDoc of Reader.Get give the
// same T, or an error on the same field, whatever the document holds; a T the caller
// changes changes nothing the next read returns.
func TestTable_Get_FirstReadMatchesKept(t *testing.T) {
	docs := []livedb.Doc{
		{"s": "x", "n": int64(5), "f": 1.5, "b": true, "in": map[string]any{"k": "kk", "m": int64(7)}},
		{"s": "only a string"},
		{"s": "extra", "zz": "a field T lacks", "aa": []any{"x"}},
		{"n": "a string where T holds an int64"},
		{"in": map[string]any{"k": int64(3)}},
		{},
	}
	forEachBackendOptions(t, nil, looseOptions, func(t *testing.T, db *livedb.DB) {
		tb := livedb.NewTable[firstRow]("rows")
		for i, d := range docs {
			var id livedb.ID
			mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
				id, err = m.DB.Insert("rows", d)
				return err
			})
			want, wantErr := mustFromReaderGet(t, db, id)
			for read := range 3 {
				got, err := mustTypedGet(t, db, tb, id)
				if errField(err) != errField(wantErr) || (err == nil && got != want) {
					t.Errorf("doc %d read %d: %+v, %v; want %+v, %v", i, read, got, err, want, wantErr)
				}
			}
		}
	})
}

// mustFromReaderGet returns FromDoc of document id as Reader.Get reads it.
func mustFromReaderGet(t *testing.T, db *livedb.DB, id livedb.ID) (firstRow, error) {
	t.Helper()
	var d livedb.Doc
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		x, ok, err := q.DB.Get(id)
		if err == nil && !ok {
			err = fmt.Errorf("%s not found", id)
		}
		d = x
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return livedb.FromDoc[firstRow](d)
}

// mustTypedGet reads document id with tb.Get, changes the result, and
// returns it as it was read.
func mustTypedGet(t *testing.T, db *livedb.DB, tb *livedb.Table[firstRow], id livedb.ID) (firstRow, error) {
	t.Helper()
	var x firstRow
	var getErr error
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		y, ok, err := tb.Get(q.DB, livedb.Ref[firstRow](id))
		if err == nil && !ok {
			t.Fatalf("%s not found", id)
		}
		x, getErr = y, err
		y.S, y.N, y.In.K = "scribbled", -1, "scribbled"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return x, getErr
}

// errField returns what err says of the field that failed ("" for nil):
// Table.Get names the table, FromDoc does not.
func errField(err error) string {
	if err == nil {
		return ""
	}
	_, field, _ := strings.Cut(err.Error(), " field ")
	return "field " + field
}
