package value

import (
	"encoding/binary"
	"math"
)

// This file reads a stored document field by field, without building a
// map: the typed reads of the root package (internal/codec's
// DecodeStored) store each field straight into a Go struct.

// The tags of the binary codec that a [FieldReader] tells its caller, for
// the kinds a caller stores without decoding a value: [FieldReader.Tag]
// returns one of these or another byte (then the caller uses
// [FieldReader.Value]).
const (
	TagNull      = codecNull
	TagFalse     = codecFalse
	TagTrue      = codecTrue
	TagInt64     = codecInt64
	TagFloat64   = codecFloat64
	TagString    = codecString
	TagUndefined = codecUndefined
)

// FieldReader walks the fields of a stored document (written by
// [EncodeStoredDocument]), in their stored order, which is increasing name
// order; the system fields are not among them: [FieldReader.ID] and
// [FieldReader.CreationTime] give them. It checks the encoding as
// strictly as [DecodeStoredDocument]: a document DecodeStoredDocument
// refuses makes some method of a FieldReader return an error wrapping
// [ErrMalformedEncoding], at the latest [End].
//
// Strings it returns, and the _id, are sliced from one string holding the
// _id's text and a copy of enc, made by NewFieldReader. They never alias
// enc.
//
// Use: NewFieldReader, then Next; after each Next that returns true, read
// the field's value with exactly one of String, Int64, Float64, Value or
// Skip, choosing by Tag; after the last field (Next returns false) call
// End. A FieldReader is not safe for concurrent use.
type FieldReader struct {
	d    decoder
	n, i int
	prev string
	id   string
	ct   float64
}

// NewFieldReader starts reading the stored document enc, whose _id is id.
func NewFieldReader[S ~string | ~[]byte](enc []byte, id S) (FieldReader, error) {
	r := FieldReader{d: decoder{buf: enc}}
	ct, n, err := r.d.storedHeader()
	if err != nil {
		return r, err
	}
	r.id, r.d.str = storedStrings(enc, id)
	r.n, r.ct = n, ct
	return r, nil
}

// ID returns the document's _id, as given to NewFieldReader.
func (r *FieldReader) ID() string { return r.id }

// CreationTime returns the document's _creationTime.
func (r *FieldReader) CreationTime() float64 { return r.ct }

// Next moves to the next field and returns its name, or false after the
// last one.
func (r *FieldReader) Next() (name string, ok bool, err error) {
	if r.i == r.n {
		return "", false, nil
	}
	k, err := r.d.storedName(r.i, r.prev)
	if err != nil {
		return "", false, err
	}
	r.i++
	r.prev = k
	return k, true, nil
}

// Tag returns the tag of the current field's value (TagString, ...).
func (r *FieldReader) Tag() byte { return r.d.buf[r.d.pos] }

// String reads the current field's value, whose tag is TagString.
func (r *FieldReader) String() (string, error) {
	if r.Tag() != codecString {
		return "", r.d.errorf("not a string")
	}
	r.d.pos++
	n, err := r.d.length(1)
	if err != nil {
		return "", err
	}
	return r.d.string(n)
}

// Int64 reads the current field's value, whose tag is TagInt64.
func (r *FieldReader) Int64() (int64, error) {
	if r.Tag() != codecInt64 {
		return 0, r.d.errorf("not an Int64")
	}
	r.d.pos++
	u, err := r.d.uvarint()
	if err != nil {
		return 0, err
	}
	return unzigzag(u), nil
}

// Float64 reads the current field's value, whose tag is TagFloat64.
func (r *FieldReader) Float64() (float64, error) {
	if r.Tag() != codecFloat64 {
		return 0, r.d.errorf("not a Float64")
	}
	r.d.pos++
	if len(r.d.buf)-r.d.pos < 8 {
		return 0, r.d.errorf("truncated Float64")
	}
	u := binary.LittleEndian.Uint64(r.d.buf[r.d.pos:])
	r.d.pos += 8
	return math.Float64frombits(u), nil
}

// Value decodes the current field's value as [Decode] does (nested at
// most [MaxNesting] levels below the document).
func (r *FieldReader) Value() (any, error) {
	return r.d.value(1)
}

// Skip reads past the current field's value, checking it. A scalar is
// checked where it is, without decoding it into an interface.
func (r *FieldReader) Skip() error {
	switch r.Tag() {
	case codecNull, codecFalse, codecTrue, codecUndefined:
		r.d.pos++
		return nil
	case codecInt64:
		_, err := r.Int64()
		return err
	case codecFloat64:
		_, err := r.Float64()
		return err
	case codecString:
		_, err := r.String()
		return err
	}
	_, err := r.d.value(1)
	return err
}

// End checks that the document has no bytes after its last field. Call it
// once Next has returned false.
func (r *FieldReader) End() error {
	if r.d.pos != len(r.d.buf) {
		return r.d.errorf("%d trailing bytes", len(r.d.buf)-r.d.pos)
	}
	return nil
}
