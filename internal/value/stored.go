package value

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// A stored document is the form in which the engine keeps a document (the
// value of its by_id key, a change record's old version). Its system
// fields are not written as fields: the _id not at all, since the key a
// stored document is read by names it (the engine hands it to the
// decoder), and _creationTime as its 8 bytes, first. The rest is an
// object's encoding without its tag:
//
//	0x0B  _creationTime (8 bytes, little-endian IEEE-754 bits)
//	      uvarint count, then per field in strictly increasing name order:
//	      uvarint name length, name, value
//
// No field is named _id or _creationTime. For the documents of an agent
// workload (six short fields, a 32-character _id) this is 53 bytes a
// document less than the object [Encode] writes: the _id's name, tag and
// text (38 bytes) and the name, length and tag of _creationTime (15).
const codecStoredDoc byte = 0x0B

// Names of the system fields, which a stored document keeps out of its
// fields.
const (
	storedFieldID           = "_id"
	storedFieldCreationTime = "_creationTime"
)

// storedHeaderLen is the length of a stored document's tag and
// _creationTime.
const storedHeaderLen = 1 + 8

// EncodeStoredDocument returns the stored form of doc, a canonical
// document holding its system fields: a Float64 _creationTime, and an _id
// that is left out (the reader gives it back). It fails when
// _creationTime is missing or not a Float64. Like [Encode], it checks no
// limits and writes a value that cannot be normalised as a marker that
// makes decoding fail.
func EncodeStoredDocument(doc map[string]any) ([]byte, error) {
	ct, ok := doc[storedFieldCreationTime].(float64)
	if !ok {
		return nil, fmt.Errorf("document has no Float64 _creationTime (%T)", doc[storedFieldCreationTime])
	}
	n := len(doc)
	if _, ok := doc[storedFieldID]; ok {
		n--
	}
	dst := make([]byte, 0, encodedSizeHint(doc))
	dst = binary.LittleEndian.AppendUint64(append(dst, codecStoredDoc), math.Float64bits(ct))
	dst = binary.AppendUvarint(dst, uint64(n-1))
	var buf [16]field
	for _, f := range sortedFields(doc, buf[:0]) {
		if f.name == storedFieldID || f.name == storedFieldCreationTime {
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(f.name)))
		dst = append(dst, f.name...)
		dst = AppendEncoded(dst, f.value)
	}
	return dst, nil
}

// DecodeStoredDocument decodes a document written by
// [EncodeStoredDocument] whose _id is id (the text its key gives): the
// map holds _id as an [ID], _creationTime as a Float64 and the fields as
// [Decode] decodes an object's. It is as strict as Decode (and refuses a
// field named _id or _creationTime), never panics, and its result does not
// alias b or id: the _id and every string share one copy of id and b.
func DecodeStoredDocument[S ~string | ~[]byte](b []byte, id S) (map[string]any, error) {
	d := decoder{buf: b}
	ct, n, err := d.storedHeader()
	if err != nil {
		return nil, err
	}
	idText, str := storedStrings(b, id)
	d.str = str
	out := make(map[string]any, n+2)
	out[storedFieldID] = ID(idText)
	out[storedFieldCreationTime] = ct
	prev := ""
	for i := range n {
		k, err := d.storedName(i, prev)
		if err != nil {
			return nil, err
		}
		if out[k], err = d.value(1); err != nil {
			return nil, err
		}
		prev = k
	}
	if d.pos != len(b) {
		return nil, d.errorf("%d trailing bytes", len(b)-d.pos)
	}
	return out, nil
}

// storedStrings returns, in one allocation, a string holding id then b:
// the _id's text, and the string form of b from which a decoder slices
// the document's strings.
func storedStrings[S ~string | ~[]byte](b []byte, id S) (idText, str string) {
	if len(id)+len(b) == 0 {
		return "", ""
	}
	buf := make([]byte, len(id)+len(b))
	copy(buf, id)
	copy(buf[len(id):], b)
	s := unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is never written again
	return s[:len(id)], s[len(id):]
}

// storedHeader reads a stored document's tag, _creationTime and field
// count, leaving d at its first field.
func (d *decoder) storedHeader() (ct float64, n int, err error) {
	if len(d.buf) < storedHeaderLen || d.buf[0] != codecStoredDoc {
		return 0, 0, d.errorf("not a stored document")
	}
	ct = math.Float64frombits(binary.LittleEndian.Uint64(d.buf[1:]))
	d.pos = storedHeaderLen
	n, err = d.length(2)
	return ct, n, err
}

// storedName reads the name of the i-th field of a stored document, which
// must come after prev and not be a system field's.
func (d *decoder) storedName(i int, prev string) (string, error) {
	klen, err := d.length(1)
	if err != nil {
		return "", err
	}
	k, err := d.string(klen)
	if err != nil {
		return "", err
	}
	if i > 0 && k <= prev {
		return "", d.errorf("field %q out of order", k)
	}
	if k == storedFieldID || k == storedFieldCreationTime {
		return "", d.errorf("system field %q stored as a field", k)
	}
	if d.pos >= len(d.buf) {
		return "", d.errorf("unexpected end of input")
	}
	return k, nil
}
