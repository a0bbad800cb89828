package livedb

// Fuzz targets of the root package's outside inputs: pagination cursors,
// stored document bytes, documents and patches in Convex-JSON, and
// Convex-JSON itself through the root API. They are white-box (package
// livedb) to sign arbitrary cursor keys and to write raw bytes under a
// document's key. IDs, Convex-JSON values, ValidatorJSON and schema JSON
// have their own targets in their packages.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// fuzzCursorDB opens the small database FuzzCursor pages through: 24
// documents with x in 0..5 (ties broken by _creationTime and _id).
func fuzzCursorDB(tb testing.TB) *DB {
	tb.Helper()
	s := DefineSchema(Tables{"t": DefineTable(v.Object(v.Fields{"x": v.Int64(), "s": v.String()})).Index("by_x", "x")})
	db, err := OpenMemory(s)
	if err != nil {
		tb.Fatalf("OpenMemory: %v", err)
	}
	err = db.Mutation(context.Background(), func(m *MutationCtx) error {
		for i := range 24 {
			if _, err := m.DB.Insert("t", Doc{"x": int64(i % 6), "s": fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("insert: %v", err)
	}
	return db
}

// fuzzCursorQuery builds one of 16 queries on the FuzzCursor database.
func fuzzCursorQuery(r *Reader, mode uint8) *Query {
	q := r.Query("t")
	if mode&2 != 0 {
		q = q.WithIndex("by_x", func(ir IndexRange) IndexRange {
			if mode&8 != 0 {
				return ir.Gte("x", int64(1)).Lt("x", int64(5))
			}
			return ir
		})
	}
	if mode&1 != 0 {
		q = q.Order(Desc)
	}
	if mode&4 != 0 {
		q = q.Filter(func(f FilterBuilder) Expr { return f.Neq(f.Field("x"), int64(2)) })
	}
	return q
}

// FuzzCursor pages with arbitrary cursors. Mode bits 0-3 pick the query;
// bits 4-5 pick how the input becomes cursors: (0) raw as Cursor, (1) raw
// as EndCursor, (2) key and endKey signed with the database's secret, so
// that any position is accepted, (3) a real ContinueCursor with raw
// spliced in. A cursor is either refused with ErrInvalidCursor or gives a
// page that is the right slice of the query's full result.
func FuzzCursor(f *testing.F) {
	f.Add("", []byte{}, []byte{}, uint8(0), uint8(3))
	f.Add("AQE", []byte{1, 0, 0, 0, 3}, []byte{}, uint8(0x22), uint8(5))
	f.Add("not a cursor!", []byte{0xff, 0xff}, []byte{1}, uint8(0x2b), uint8(0))
	f.Add("xyz", []byte{}, []byte{}, uint8(0x3f), uint8(2))
	f.Add("", []byte{0x01, 0x00, 0x00, 0x00, 0x03, 0x08, 0x01}, []byte{0x01, 0x00, 0x00, 0x00, 0x03, 0x0c}, uint8(0x2a), uint8(1))
	f.Add("AQKzAAAAAAAAAAAAAAAAAAAAAA", []byte(nil), []byte(nil), uint8(0x10), uint8(9))
	for _, mode := range []uint8{0x20, 0x21, 0x23, 0x2e, 0x30, 0x31, 0x3b} {
		f.Add("", []byte{}, []byte{}, mode, uint8(mode)) // at a row, or a real cursor
	}
	db := fuzzCursorDB(f)
	f.Cleanup(func() { _ = db.Close() })
	f.Fuzz(func(t *testing.T, raw string, key, endKey []byte, mode, n uint8) {
		opts := PaginationOptions{NumItems: 1 + int(n%8)}
		err := db.Query(context.Background(), func(qc *QueryCtx) error {
			full, err := fuzzCursorQuery(qc.DB, mode).Collect()
			if err != nil {
				return err
			}
			q := fuzzCursorQuery(qc.DB, mode)
			var fromKey, toKey []byte // the positions when signed
			switch (mode >> 4) & 3 {
			case 0:
				opts.Cursor = raw
			case 1:
				opts.EndCursor = raw
			case 2:
				fromKey = key
				if len(key) == 0 && len(full) > 0 {
					// Exactly at a row: the page starts just after it.
					fromKey = indexKey(q.ix, map[string]any(full[int(n)%len(full)]))
				}
				opts.Cursor = q.encodeCursor(cursor{key: fromKey})
				if len(endKey) > 0 {
					toKey = endKey
					opts.EndCursor = q.encodeCursor(cursor{key: endKey})
				}
			case 3:
				first, err := fuzzCursorQuery(qc.DB, mode).Paginate(PaginationOptions{NumItems: 2})
				if err != nil {
					return err
				}
				c := []byte(first.ContinueCursor)
				at := int(n) % (len(c) + 1)
				opts.Cursor = string(c[:at]) + raw + string(c[at:])
				if !first.IsDone && len(first.Page) > 0 {
					// Accepted only if it decodes to the same cursor: the
					// page after the first two rows.
					fromKey = indexKey(q.ix, map[string]any(first.Page[len(first.Page)-1]))
				}
			}
			res, err := q.Paginate(opts)
			if err != nil {
				if !errors.Is(err, ErrInvalidCursor) {
					t.Fatalf("Paginate(%q, %q): error %v does not wrap ErrInvalidCursor", opts.Cursor, opts.EndCursor, err)
				}
				if fromKey != nil && (mode>>4)&3 == 2 {
					t.Fatalf("Paginate refused a signed cursor: %v", err)
				}
				return nil
			}
			fuzzCheckPage(t, q, full, res, opts, fromKey, toKey)
			return nil
		})
		if err != nil {
			t.Fatalf("query: %v", err)
		}
	})
}

// fuzzCheckPage checks an accepted page: it must be a contiguous run of the
// full result, no longer than asked; for signed positions, exactly the rows
// after fromKey (up to toKey) in scan order.
func fuzzCheckPage(t *testing.T, q *Query, full []Doc, res PaginationResult[Doc], opts PaginationOptions, fromKey, toKey []byte) {
	t.Helper()
	ids := func(ds []Doc) []ID {
		out := make([]ID, len(ds))
		for i, d := range ds {
			out[i] = d.ID()
		}
		return out
	}
	all, page := ids(full), ids(res.Page)
	if opts.EndCursor == "" && len(page) > opts.NumItems {
		t.Fatalf("page of %d rows for NumItems %d", len(page), opts.NumItems)
	}
	if len(page) > 0 {
		i := slices.Index(all, page[0])
		if i < 0 || i+len(page) > len(all) || !slices.Equal(all[i:i+len(page)], page) {
			t.Fatalf("page %v is not a slice of the result %v", page, all)
		}
	}
	if fromKey == nil {
		return
	}
	// The exact page: rows whose index key is after fromKey (and at or
	// before toKey) in scan order.
	desc := q.order == Desc
	after := func(k, pos []byte) bool {
		c := bytes.Compare(k, pos)
		return desc && c < 0 || !desc && c > 0
	}
	var want []ID
	for _, d := range full {
		k := indexKey(q.ix, map[string]any(d))
		if !after(k, fromKey) || toKey != nil && after(k, toKey) {
			continue
		}
		want = append(want, d.ID())
	}
	if toKey == nil && len(want) > opts.NumItems {
		want = want[:opts.NumItems]
	}
	if !slices.Equal(page, want) {
		t.Fatalf("page after key %x (end %x, %s): got %v, want %v", fromKey, toKey, q.order, page, want)
	}
	if toKey == nil && res.IsDone != (len(page) < opts.NumItems) {
		t.Fatalf("IsDone %v for a page of %d of %d rows", res.IsDone, len(page), opts.NumItems)
	}
}

// fuzzStoredDB opens a memory database with one document in a table with a
// user index, and returns the table and the document's ID.
func fuzzStoredDB(tb testing.TB) (*DB, *tableInfo, ID) {
	tb.Helper()
	db, t, docID, err := openFuzzStoredDB()
	if err != nil {
		tb.Fatal(err)
	}
	return db, t, docID
}

func openFuzzStoredDB() (*DB, *tableInfo, ID, error) {
	s := DefineSchema(Tables{"t": DefineTable(v.Object(v.Fields{"x": v.Optional(v.Any())})).Index("by_x", "x")})
	db, err := OpenMemory(s)
	if err != nil {
		return nil, nil, "", err
	}
	var docID ID
	err = db.Mutation(context.Background(), func(m *MutationCtx) error {
		var err error
		docID, err = m.DB.Insert("t", Doc{"x": "hello"})
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, nil, "", err
	}
	return db, db.cat.Load().tables["t"], docID, nil
}

// FuzzStoredDocument writes arbitrary bytes as the stored value of a
// document (through the kv store, behind the engine's back) and then reads
// it every way: Get, scans of every index, Paginate, the change-free
// writes (patch, replace, delete) and Check. Each must return an error or a
// result, never panic; Check must report a document that does not decode,
// or whose index entries differ from what it produces.
func FuzzStoredDocument(f *testing.F) {
	good, err := value.EncodeStoredDocument(map[string]any{"_creationTime": 1.0, "x": "hello"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(good)
	f.Add(value.Encode(map[string]any{"_id": "x", "_creationTime": 1.0, "x": "hello"})) // the object form
	f.Add(append(bytes.Clone(good[:9]), 0x02, 0x03, '_', 'i', 'd', 0x06, 0x01, 'x', 0x01, 'x', 0x06, 0x01, 'y'))
	f.Add(value.Encode(map[string]any{"x": int64(1)}))
	f.Add(value.Encode([]any{int64(1), "a"}))
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, stored []byte) {
		db, tbl, docID := fuzzStoredDB(t)
		defer db.Close()
		ctx := context.Background()
		var b kv.Batch
		b.Put(docKey(tbl, string(docID)), stored)
		if err := db.store.Commit(&b); err != nil {
			t.Fatal(err)
		}
		wantErr := func(what string, err error) {
			t.Helper()
			if err != nil && !errors.Is(err, ErrNotLivedb) && !errors.Is(err, ErrCorrupt) && !errors.As(err, new(*DocumentError)) {
				t.Fatalf("%s: error %v wraps neither ErrNotLivedb nor ErrCorrupt", what, err)
			}
		}
		_ = db.Query(ctx, func(q *QueryCtx) error {
			_, _, err := q.DB.Get(docID)
			wantErr("Get", err)
			for _, ix := range []string{"by_id", "by_creation_time", "by_x"} {
				_, err := q.DB.Query("t").WithIndex(ix, nil).Collect()
				wantErr("Collect "+ix, err)
				_, err = q.DB.Query("t").WithIndex(ix, nil).Order(Desc).Paginate(PaginationOptions{NumItems: 3})
				wantErr("Paginate "+ix, err)
			}
			return nil
		})
		for _, write := range []func(w *Writer) error{
			func(w *Writer) error { return w.Patch(docID, Doc{"x": int64(2)}) },
			func(w *Writer) error { return w.Replace(docID, Doc{"x": int64(3)}) },
			func(w *Writer) error { return w.Delete(docID) },
		} {
			err := db.Mutation(ctx, func(m *MutationCtx) error { return write(m.DB) })
			wantErr("write", err)
			if err == nil {
				break // the document is no longer the fuzzed one
			}
		}
		// Check on a fresh copy holding the fuzzed bytes.
		db2, tbl2, id2 := fuzzStoredDB(t)
		defer db2.Close()
		var orig2 map[string]any
		_ = db2.Query(ctx, func(q *QueryCtx) error {
			d, _, err := q.DB.Get(id2)
			orig2 = map[string]any(d)
			orig2[fieldID] = string(id2)
			return err
		})
		b.Reset()
		b.Put(docKey(tbl2, string(id2)), stored)
		if err := db2.store.Commit(&b); err != nil {
			t.Fatal(err)
		}
		err := db2.Check(ctx)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Check: %v does not wrap ErrCorrupt", err)
		}
		if err == nil {
			// Only a document that produces exactly the stored index
			// entries may pass: same _id, _creationTime and x.
			m, derr := decodeDoc(stored, id2)
			if derr != nil {
				t.Fatalf("Check passed a document that does not decode: %v", derr)
			}
			for _, k := range []string{fieldID, fieldCreationTime, "x"} {
				if !value.Equal(m[k], orig2[k]) {
					t.Fatalf("Check passed document %s whose %s is %s, not %s", value.Format(m), k, value.Format(m[k]), value.Format(orig2[k]))
				}
			}
		}
	})
}

// FuzzPatchDoc inserts a Convex-JSON document into a table the schema does
// not define (any document goes), then patches and replaces it with
// Convex-JSON objects: each write fails with an error or succeeds, and a
// success reads back as written.
func FuzzPatchDoc(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte(`{"b":"x"}`))
	f.Add([]byte(`{"a":{"$integer":"AQAAAAAAAAA="},"n":null}`), []byte(`{"a":{"$float":"AAAAAAAA+H8="}}`))
	f.Add([]byte(`{"nested":{"deep":[1,2,{"$bytes":"AAE="}]}}`), []byte(`{"_id":"x"}`))
	f.Add([]byte(`{"_creationTime":1}`), []byte(`{}`))
	f.Add([]byte(`{"$a":1}`), []byte(`{"":1}`))
	f.Add([]byte(`[1,2]`), []byte(`7`))
	f.Add([]byte(`{"a":"\u0000"}`), []byte(`{"a":{"$integer":"AAAAAAAAAIA="}}`))
	db, err := OpenMemory(DefineSchema(nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	read := func(t *testing.T, id ID) Doc {
		var d Doc
		err := db.Query(ctx, func(q *QueryCtx) error {
			var ok bool
			var err error
			d, ok, err = q.DB.Get(id)
			if err == nil && !ok {
				err = errors.New("not found")
			}
			return err
		})
		if err != nil {
			t.Fatalf("Get %s: %v", id, err)
		}
		return d
	}
	same := func(t *testing.T, what string, got Doc, want map[string]any) {
		t.Helper()
		user := map[string]any{}
		for k, x := range got {
			if k != fieldID && k != fieldCreationTime {
				user[k] = x
			}
		}
		if !value.Equal(user, want) {
			t.Fatalf("%s: reads back as %s, want %s", what, value.Format(user), value.Format(want))
		}
	}
	f.Fuzz(func(t *testing.T, docJSON, patchJSON []byte) {
		x, err := v.JSONToConvex(docJSON)
		if err != nil {
			return
		}
		doc, ok := x.(map[string]any)
		if !ok {
			return
		}
		var id ID
		err = db.Mutation(ctx, func(m *MutationCtx) error {
			var err error
			id, err = m.DB.Insert("free", Doc(doc))
			return err
		})
		if err != nil {
			return // refused: a bad field name, a limit, ...
		}
		defer func() {
			if err := db.Mutation(ctx, func(m *MutationCtx) error { return m.DB.Delete(id) }); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}()
		cur := read(t, id)
		same(t, "insert", cur, doc)
		y, err := v.JSONToConvex(patchJSON)
		if err != nil {
			return
		}
		patch, _ := y.(map[string]any)
		err = db.Mutation(ctx, func(m *MutationCtx) error { return m.DB.Patch(id, Doc(patch)) })
		if err == nil {
			want := map[string]any{}
			for k, x := range doc {
				want[k] = x
			}
			for k, x := range patch {
				if k != fieldID && k != fieldCreationTime {
					want[k] = x
				}
			}
			same(t, "patch", read(t, id), want)
		}
		err = db.Mutation(ctx, func(m *MutationCtx) error { return m.DB.Replace(id, Doc(patch)) })
		if err == nil {
			want := map[string]any{}
			for k, x := range patch {
				if k != fieldID && k != fieldCreationTime {
					want[k] = x
				}
			}
			same(t, "replace", read(t, id), want)
		}
	})
}

// FuzzDecodeConvexJSON decodes arbitrary bytes with v.JSONToConvex: an error
// or a value that encodes and decodes back to an equal value.
func FuzzDecodeConvexJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `1`, `-0.0`, `"s"`, `[1,[2,[3]]]`, `{"a":{"b":null}}`,
		`{"$integer":"AQAAAAAAAAA="}`, `{"$float":"AAAAAAAA+H8="}`, `{"$bytes":"AAE="}`,
		`{"$float":"AAAAAAAAAIA="}`, `{"$integer":"6AMAAAAAAAA="}`, `[{"$integer":"AAAAAAAAAIA="},{"k":{"$bytes":""}}]`, `{"$integer":"AQ=="}`, `{"$unknown":1}`, `1e400`, `"\ud800"`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := v.JSONToConvex(b)
		if err != nil {
			return
		}
		if v.Compare(x, x) != 0 {
			t.Fatalf("decoded value %s does not equal itself", value.Format(x))
		}
		enc, err := v.ConvexToJSON(x)
		if err != nil {
			t.Fatalf("ConvexToJSON of a decoded value %s: %v", value.Format(x), err)
		}
		y, err := v.JSONToConvex(enc)
		if err != nil {
			t.Fatalf("v.JSONToConvex(%s) of our own encoding: %v", enc, err)
		}
		if !v.Equal(x, y) {
			t.Fatalf("round trip: %s became %s", value.Format(x), value.Format(y))
		}
	})
}
