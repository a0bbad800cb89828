package livedb

import (
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/value"
)

// Ref is a typed document ID, Convex's Id<"table">: the ID of a document
// read as a T. [Table.Insert] returns one, struct fields of type Ref[T]
// hold one, and a Table[T]'s methods take only a Ref[T], so passing the ID
// of an agent session where a workflow's is expected does not compile.
// (A conversion such as Ref[Workflow](id) bypasses that check; the
// Table's methods still refuse an ID of another table at run time.)
//
// As a value a Ref is a string. Convert it with [Ref.ID] where the untyped
// API wants an ID, including in [FilterBuilder] expressions; a
// [TypedQuery]'s index ranges take a Ref as it is.
type Ref[T any] string

// ID returns the reference as an untyped ID.
func (r Ref[T]) ID() ID { return ID(r) }

// Table is typed access to one table: it reads documents as values of T
// and writes values of T as documents, by the struct mapping described on
// [ToDoc] and [FromDoc] (field names from `json` tags). T is a struct or a
// pointer to a struct. The table's schema validator still checks every
// write: a T that does not match is refused with the engine's
// *DocumentError wrapping ErrSchemaEnforcement, and nothing is written.
//
// A Table holds no database state: declare it once, as a package variable,
// and use it with the *Reader or *Writer of any transaction of any DB:
// methods that read take either (a [DBReader]), those that write take a
// *Writer.
// A Table is immutable and safe for concurrent use.
type Table[T any] struct {
	name string
	typ  reflect.Type // T
	err  error        // why T or name cannot be used; returned by every method
	flat bool         // T is flat: reads of cached versions copy a cached T (read_typed_cache.go)

	fast *codec.FlatDecoder // decodes a cached version's map into T, when T allows (read_typed_cache.go)

	scratch sync.Pool // of *collectScratch[T]: where a Collect gathers its rows before the result is sized (read_alloc.go)
}

// NewTable returns typed access to the table name, as T. A name that is
// not a valid table name, or a T that is not a struct (or pointer to a
// struct) whose fields can all be mapped (no channels, functions, complex
// numbers, maps with non-string keys, types with only one of MarshalText
// and UnmarshalText, clashing field names), is not a panic: every method
// of the returned Table reports it, with the field's path. Fields of type
// time.Time and of types with MarshalText and UnmarshalText are mapped as
// described on [ToDoc].
func NewTable[T any](name string) *Table[T] {
	t := &Table[T]{name: name, typ: reflect.TypeFor[T]()}
	if err := checkTableNameOrSystem(name); err != nil {
		t.err = fmt.Errorf("%w: NewTable(%q): %w", ErrInvalidTable, name, err)
		return t
	}
	st := t.typ
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if why := codec.NotDocType(st); st.Kind() != reflect.Struct || why != "" {
		t.err = &CodecError{Op: "type", Table: name, Reason: fmt.Sprintf("a Table's type must be a struct or a pointer to a struct, not %s%s", t.typ, why)}
		return t
	}
	t.err = codecError(codec.CheckType(st, name))
	t.flat = isFlat[T]()
	if t.err == nil && t.flat {
		t.fast = codec.NewFlatDecoder(t.typ)
	}
	return t
}

// Name returns the table's name.
func (t *Table[T]) Name() string { return t.name }

// Err returns the reason the Table cannot be used (a bad name or type T),
// or nil. Every other method returns it too.
func (t *Table[T]) Err() error { return t.err }

// encode converts x to the fields of a document of this table.
func (t *Table[T]) encode(x T, docID ID) (Doc, error) {
	m, err := codec.EncodeFields(reflect.ValueOf(&x).Elem(), t.name, docID)
	if err != nil {
		return nil, codecError(err)
	}
	return Doc(m), nil
}

// decode converts a document of this table to a T.
func (t *Table[T]) decode(d Doc) (T, error) {
	var out T
	err := t.decodeInto(d, &out)
	return out, err
}

// decodeInto converts a document of this table into *out, which decodeAll
// points into its result so that no T is allocated per document.
func (t *Table[T]) decodeInto(d Doc, out *T) error {
	return codecError(codec.DecodeDoc(d, reflect.ValueOf(out).Elem(), t.name))
}

// checkRef checks that id is an ID of this table and returns the table.
// It returns nil, without an error, when the ID's table does not exist
// (yet), so that no document can have it.
func (t *Table[T]) checkRef(db DBReader, op string, id Ref[T]) (*tableInfo, error) {
	if t.err != nil {
		return nil, t.err
	}
	r := readerOf(db)
	if r == nil {
		return nil, fmt.Errorf("livedb: %s in table %q: nil Reader or Writer", op, t.name)
	}
	ti, ok, err := r.tx.resolveID(ID(id))
	switch {
	case err != nil:
		return nil, &DocumentError{Op: op, Table: t.name, ID: ID(id), Kind: ErrInvalidID, Err: unwrapKind(err, ErrInvalidID)}
	case !ok:
		return nil, nil
	case ti.name != t.name:
		return nil, &DocumentError{Op: op, Table: t.name, ID: ID(id), Kind: ErrInvalidID,
			Err: fmt.Errorf("expected to be an Id<%q>, got Id<%q> instead", t.name, ti.name)}
	}
	return ti, nil
}

// Insert writes x as a new document and returns its reference. Fields of x
// tagged "_id" and "_creationTime" are ignored: the database assigns them.
// A value that cannot be mapped is a *CodecError; one that the schema
// refuses is the engine's *DocumentError. Either way nothing is written.
func (t *Table[T]) Insert(w *Writer, x T) (Ref[T], error) {
	if t.err != nil {
		return "", t.err
	}
	if w == nil || w.tx == nil {
		return "", fmt.Errorf("livedb: insert into table %q: nil Writer", t.name)
	}
	doc, err := t.encode(x, "")
	if err != nil {
		return "", err
	}
	id, err := w.Insert(t.name, doc)
	if err == nil {
		t.keepWritten(w, string(id)) // read_typed_write.go
	}
	return Ref[T](id), err
}

// Get reads the document id as a T, and reports false (with T's zero
// value) when it does not exist. db is the DB of a query or of a mutation
// (inside a mutation, Get sees its writes). An ID of another table is an
// error wrapping ErrInvalidID; a document that does not fit T is a
// *CodecError naming the field.
//
// The T is the caller's own: it shares no array, map or []byte with the
// database (see [FromDoc]). Get decodes the stored document into it
// without first copying the document as [Reader.Get] does, which on the
// memory backend saves copying a map per read.
func (t *Table[T]) Get(db DBReader, id Ref[T]) (T, bool, error) {
	var zero T
	ti, err := t.checkRef(db, "get", id)
	if err != nil || ti == nil {
		return zero, false, err
	}
	row, ok, err := readerOf(db).tx.getRawIn(ti, ID(id)) // read_direct.go
	if err != nil || !ok {
		return zero, false, err
	}
	if c := row.shared; c != nil && c != readOnce && t.flat {
		k, err := t.keptIn(c) // read_typed_cache.go
		if err != nil {
			return zero, false, err
		}
		return *k, true, nil
	}
	var x T
	if err := t.decodeRow(row, &x); err != nil {
		return zero, false, err
	}
	return x, true, nil
}

// Replace replaces every field of the document id with those of x, keeping
// its _id and _creationTime (fields of x tagged with them are ignored).
// Like [Writer.Replace], a replace that changes nothing is not a write.
func (t *Table[T]) Replace(w *Writer, id Ref[T], x T) error {
	if err := t.checkWriter(w, "replace", id); err != nil {
		return err
	}
	doc, err := t.encode(x, ID(id))
	if err != nil {
		return err
	}
	if err := w.Replace(ID(id), doc); err != nil {
		return err
	}
	t.keepWritten(w, string(id))
	return nil
}

// Patch shallowly merges fields into the document id, as [Writer.Patch]:
// fields are document field names, a value of [Undefined] (or a nil
// pointer) removes the field. Values are converted as struct fields are,
// so they may be Refs, structs and Go integers.
func (t *Table[T]) Patch(w *Writer, id Ref[T], fields Doc) error {
	if err := t.checkWriter(w, "patch", id); err != nil {
		return err
	}
	conv := make(Doc, len(fields))
	for k, x := range fields {
		if value.IsUndefined(x) {
			conv[k] = x
			continue
		}
		y, present, err := codec.Encode(reflect.ValueOf(x))
		if err != nil {
			return codecError(codec.Rooted(codec.Within(err, "."+k, "["+fmt.Sprintf("%q", k)+"]"), reflect.TypeFor[Doc](), t.name, ID(id)))
		}
		if !present {
			y = Undefined
		}
		conv[k] = y
	}
	if err := w.Patch(ID(id), conv); err != nil {
		return err
	}
	t.keepWritten(w, string(id))
	return nil
}

// Delete removes the document id. Deleting a document that does not exist
// is an error wrapping ErrNotFound.
func (t *Table[T]) Delete(w *Writer, id Ref[T]) error {
	if err := t.checkWriter(w, "delete", id); err != nil {
		return err
	}
	return w.Delete(ID(id))
}

// checkWriter checks the Table, the Writer and the reference before a
// write. A reference to a table that does not exist is left for the
// Writer to report as not found.
func (t *Table[T]) checkWriter(w *Writer, op string, id Ref[T]) error {
	if w == nil {
		return fmt.Errorf("livedb: %s in table %q: nil Writer", op, t.name)
	}
	_, err := t.checkRef(w, op, id)
	return err
}

// Query starts a query on the table whose results are read as T; it has
// the builder methods of [Query]. db is the DB of a query or of a
// mutation (inside a mutation, the query sees its writes).
func (t *Table[T]) Query(db DBReader) *TypedQuery[T] {
	tqa := new(typedQueryAlloc[T]) // read_alloc.go
	tq := &tqa.tq
	tq.t, tq.err = t, t.err
	r := readerOf(db)
	switch {
	case tq.err != nil:
	case r == nil:
		tq.err = fmt.Errorf("livedb: query of table %q: nil Reader or Writer", t.name)
	default:
		tq.q = r.queryIn(&tqa.q, t.name)
		tq.q.borrow = true // results are decoded, not kept (read_borrow.go)
	}
	return tq
}

// TypedQuery is a [Query] whose results are read as T, built with
// [Table.Query]. Building methods return the same *TypedQuery; mistakes are
// reported by the terminal method (Collect, Take, First, Unique, All,
// Paginate). Like a Query, it belongs to its transaction and runs once.
//
// Its results are the caller's own, as [Table.Get]'s are, and cost no copy
// of a document map: each document is decoded into its T as the scan
// reads it.
type TypedQuery[T any] struct {
	t   *Table[T]
	q   *Query // nil when err is set
	err error
}

// WithIndex makes the query scan the named index, restricted by the range
// that rng builds, as [Query.WithIndex]. Range values may be Refs and
// other Go values that [ToDoc] maps (structs, named string types).
func (tq *TypedQuery[T]) WithIndex(name string, rng func(IndexRange) IndexRange) *TypedQuery[T] {
	if tq.q == nil {
		return tq
	}
	tq.q.withIndex(name, rng, true)
	return tq
}

// plainRange converts range values that the engine does not take as they
// are (a Ref, a struct) by the struct mapping. Values the engine takes,
// Go integers among them, are left for the index field's validator to
// type.
func plainRange(r IndexRange) IndexRange {
	if r.spill != nil {
		r.spill = plainTerms(r.spill)
		return r
	}
	for i := range r.n {
		if x, ok := plainValue(r.inline[i].value); ok {
			r.inline[i].value = x // r's own array (index_range_terms.go)
		}
	}
	return r
}

// plainTerms is plainRange for a slice of terms, which may be shared: it
// is copied before a value changes.
func plainTerms(terms []rangeTerm) []rangeTerm {
	owned := false
	for i, term := range terms {
		x, ok := plainValue(term.value)
		if !ok {
			continue
		}
		if !owned {
			terms, owned = slices.Clone(terms), true
		}
		terms[i].value = x
	}
	return terms
}

// plainValue returns x converted by the struct mapping, and true, when the
// engine does not take x as it is.
func plainValue(x any) (any, bool) {
	if _, canonical := value.KindOf(x); canonical {
		return nil, false
	}
	if _, isInt := value.IsGoInt(x); isInt {
		return nil, false
	}
	if y, present, err := codec.Encode(reflect.ValueOf(x)); err == nil && present {
		return y, true
	}
	return nil, false
}

// Order sets the direction of the scan, as [Query.Order].
func (tq *TypedQuery[T]) Order(o Order) *TypedQuery[T] {
	if tq.q != nil {
		tq.q.Order(o)
	}
	return tq
}

// Filter keeps the documents for which the expression is true, as
// [Query.Filter]. Expressions see documents, not T: use document field
// names, and Ref.ID() for references.
func (tq *TypedQuery[T]) Filter(build func(f FilterBuilder) Expr) *TypedQuery[T] {
	if tq.q != nil {
		tq.q.Filter(build)
	}
	return tq
}

// FilterFunc keeps the documents for which keep returns true, as
// [Query.FilterFunc]; keep sees the document, before it is read as T.
func (tq *TypedQuery[T]) FilterFunc(keep func(d Doc) (bool, error)) *TypedQuery[T] {
	if tq.q != nil {
		tq.q.FilterFunc(keep)
	}
	return tq
}

// decodeAll reads documents as T.
func (tq *TypedQuery[T]) decodeAll(docs []Doc, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		if err = tq.t.decodeInto(d, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Collect returns every result, as [Query.Collect].
func (tq *TypedQuery[T]) Collect() ([]T, error) {
	if tq.err != nil {
		return nil, tq.err
	}
	if tq.q.search == nil {
		return tq.collect(-1) // read_direct.go
	}
	return tq.decodeAll(tq.q.Collect())
}

// Take returns the first n results, as [Query.Take].
func (tq *TypedQuery[T]) Take(n int) ([]T, error) {
	if tq.err != nil {
		return nil, tq.err
	}
	if tq.q.search == nil && n >= 0 {
		return tq.collect(n) // read_direct.go
	}
	return tq.decodeAll(tq.q.Take(n))
}

// First returns the first result and true, or false when there is none.
func (tq *TypedQuery[T]) First() (T, bool, error) {
	return tq.one(func() (Doc, bool, error) { return tq.q.First() })
}

// Unique returns the single result and true, false when there is none, and
// an error wrapping ErrInvalidQuery when there are more, as [Query.Unique].
func (tq *TypedQuery[T]) Unique() (T, bool, error) {
	return tq.one(func() (Doc, bool, error) { return tq.q.Unique() })
}

func (tq *TypedQuery[T]) one(run func() (Doc, bool, error)) (T, bool, error) {
	var zero T
	if tq.err != nil {
		return zero, false, tq.err
	}
	d, ok, err := run()
	if err != nil || !ok {
		return zero, false, err
	}
	x, err := tq.t.decode(d)
	if err != nil {
		return zero, false, err
	}
	return x, true, nil
}

// All returns an iterator over the results read as T, reading lazily as
// [Query.All] does. An error, including a document that does not fit T,
// ends the iteration as its last pair.
func (tq *TypedQuery[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if tq.err != nil {
			yield(zero, tq.err)
			return
		}
		for d, err := range tq.q.All() {
			if err != nil {
				yield(zero, err)
				return
			}
			x, err := tq.t.decode(d)
			if err != nil {
				yield(zero, err)
				return
			}
			if !yield(x, nil) {
				return
			}
		}
	}
}

// Paginate returns one page of the results, as [Query.Paginate]. Cursors
// are those of the untyped query: a cursor of a TypedQuery continues the
// same query built on the Query API, and the other way round.
func (tq *TypedQuery[T]) Paginate(opts PaginationOptions) (PaginationResult[T], error) {
	if tq.err != nil {
		return PaginationResult[T]{}, tq.err
	}
	if tq.q.search == nil {
		return tq.paginate(opts) // read_direct.go
	}
	res, err := tq.q.Paginate(opts)
	if err != nil {
		return PaginationResult[T]{}, err
	}
	page, err := tq.decodeAll(res.Page, nil)
	if err != nil {
		return PaginationResult[T]{}, err
	}
	return withPage(res, page), nil
}

// withPage returns res with page as its documents.
func withPage[T any](res PaginationResult[Doc], page []T) PaginationResult[T] {
	return PaginationResult[T]{
		Page:           page,
		IsDone:         res.IsDone,
		ContinueCursor: res.ContinueCursor,
		SplitCursor:    res.SplitCursor,
		PageStatus:     res.PageStatus,
	}
}
