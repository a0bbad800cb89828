package value

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// The binary document codec is a tag-length-value encoding, used to store
// documents. Unlike sort keys it does not preserve order; it is compact and
// fast to decode. Each value is a tag byte and a payload:
//
//	0x01 null        0x02 false        0x03 true        0x0A undefined
//	0x04 Int64       zigzag uvarint
//	0x05 Float64     8 bytes, little-endian IEEE-754 bits (NaN payloads and -0 kept)
//	0x06 String      uvarint byte length, UTF-8 bytes
//	0x07 Bytes       uvarint length, bytes
//	0x08 Array       uvarint count, that many values
//	0x09 Object      uvarint count, then per field in strictly increasing
//	                 name order: uvarint name length, name, value
//
// Uvarints are encoding/binary's, in their shortest form. The encoding of a
// value is unique, so equal canonical values encode to equal bytes. A
// document is stored in a form of its own (tag 0x0B, stored.go), without
// the system fields' names and its _id.
const (
	codecNull      byte = 0x01
	codecFalse     byte = 0x02
	codecTrue      byte = 0x03
	codecInt64     byte = 0x04
	codecFloat64   byte = 0x05
	codecString    byte = 0x06
	codecBytes     byte = 0x07
	codecArray     byte = 0x08
	codecObject    byte = 0x09
	codecUndefined byte = 0x0A
	// codecInvalid marks a Go value that cannot be normalised; Decode
	// rejects it.
	codecInvalid byte = 0xFE
)

// ErrMalformedEncoding is wrapped by every error that Decode returns.
var ErrMalformedEncoding = errors.New("malformed encoded value")

// Encode returns the binary encoding of x; see [AppendEncoded].
func Encode(x any) []byte {
	return AppendEncoded(make([]byte, 0, encodedSizeHint(x)), x)
}

// AppendEncoded appends the binary encoding of x to dst and returns the
// extended slice. [Decode] reverses it exactly: Float64 bits (NaN payloads,
// -0), Int64 extremes, and [Undefined] wherever it appears. Object fields are
// written in sorted order, so the encoding is deterministic. [ID] is written
// as a string. x should be canonical (see [Normalize]); Go integer kinds,
// float32 and the containers Normalize accepts are converted as Normalize
// converts them, and a value Normalize rejects is written as a marker that
// makes Decode fail, never silently as something else. Limits are not
// checked here (see [CheckValue]); a value nested deeper than [MaxNesting]
// encodes but does not decode.
func AppendEncoded(dst []byte, x any) []byte {
	switch t := x.(type) {
	case nil:
		return append(dst, codecNull)
	case int64:
		return binary.AppendUvarint(append(dst, codecInt64), zigzag(t))
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, codecFloat64), math.Float64bits(t))
	case bool:
		if t {
			return append(dst, codecTrue)
		}
		return append(dst, codecFalse)
	case string:
		dst = binary.AppendUvarint(append(dst, codecString), uint64(len(t)))
		return append(dst, t...)
	case ID:
		return AppendEncoded(dst, string(t))
	case []byte:
		dst = binary.AppendUvarint(append(dst, codecBytes), uint64(len(t)))
		return append(dst, t...)
	case []any:
		dst = binary.AppendUvarint(append(dst, codecArray), uint64(len(t)))
		for _, e := range t {
			dst = AppendEncoded(dst, e)
		}
		return dst
	case map[string]any:
		return appendEncodedObject(dst, t)
	case undefinedType:
		return append(dst, codecUndefined)
	}
	if i, ok, err := goInt(x, ""); ok {
		if err != nil {
			return append(dst, codecInvalid)
		}
		return AppendEncoded(dst, i)
	}
	if f, ok := x.(float32); ok {
		return AppendEncoded(dst, float64(f))
	}
	n, err := Normalize(x)
	if err != nil {
		return append(dst, codecInvalid)
	}
	return AppendEncoded(dst, n)
}

func appendEncodedObject(dst []byte, m map[string]any) []byte {
	dst = binary.AppendUvarint(append(dst, codecObject), uint64(len(m)))
	var buf [16]field
	for _, f := range sortedFields(m, buf[:0]) {
		dst = binary.AppendUvarint(dst, uint64(len(f.name)))
		dst = append(dst, f.name...)
		dst = AppendEncoded(dst, f.value)
	}
	return dst
}

// field is one field of an object.
type field struct {
	name  string
	value any
}

// sortedFields appends the fields of m to buf in name order, so that
// encoders need no second lookup per field.
func sortedFields(m map[string]any, buf []field) []field {
	for k, v := range m {
		buf = append(buf, field{k, v})
	}
	slices.SortFunc(buf, func(a, b field) int { return strings.Compare(a.name, b.name) })
	return buf
}

// encodedSizeHint estimates the encoded size of x for the first allocation
// from its top level only (strings and bytes exactly, nested containers
// roughly), so that Encode usually allocates once without walking x twice.
func encodedSizeHint(x any) int {
	switch t := x.(type) {
	case map[string]any:
		n := 8
		for k, e := range t {
			if m, ok := e.(map[string]any); ok {
				n += len(k) + 2 + 8 + 32*len(m)
				continue
			}
			n += len(k) + 2 + encodedSizeHint(e)
		}
		return n
	case []any:
		return 8 + 24*len(t)
	case string:
		return len(t) + 4
	case ID:
		return len(t) + 4
	case []byte:
		return len(t) + 4
	}
	return 10
}

func zigzag(n int64) uint64 { return uint64(n<<1) ^ uint64(n>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// Decode decodes a value written by [Encode] or [AppendEncoded]; b must hold
// exactly one value. Int64s decode as int64, IDs as string, Bytes always as
// a non-nil []byte, empty arrays as []any{} and empty objects as
// map[string]any{}.
//
// Decoding is strict (shortest uvarints, valid UTF-8, field names in strictly
// increasing order, nesting at most [MaxNesting], no trailing bytes), so a
// value that decodes re-encodes to the same bytes. Any other input gives an
// error wrapping [ErrMalformedEncoding]; Decode never panics, and its
// allocations are bounded by a constant multiple of len(b), since every
// count is checked against the bytes left before anything is allocated.
//
// The result does not alias b. Its strings share one copy of b, so holding
// any one of them keeps that copy alive.
func Decode(b []byte) (any, error) {
	d := decoder{buf: b}
	x, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(b) {
		return nil, d.errorf("%d trailing bytes", len(b)-d.pos)
	}
	return x, nil
}

// decoder reads an encoded value from buf. str is a copy of buf, made on
// the first string, from which all strings are sliced.
type decoder struct {
	buf []byte
	str string
	pos int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformedEncoding, d.pos, fmt.Sprintf(format, args...))
}

// uvarint reads a uvarint in its shortest form.
func (d *decoder) uvarint() (uint64, error) {
	if d.pos < len(d.buf) && d.buf[d.pos] < 0x80 {
		v := d.buf[d.pos]
		d.pos++
		return uint64(v), nil
	}
	v, n := binary.Uvarint(d.buf[d.pos:])
	if n <= 0 {
		return 0, d.errorf("bad uvarint")
	}
	if d.buf[d.pos+n-1] == 0 {
		return 0, d.errorf("uvarint not in its shortest form")
	}
	d.pos += n
	return v, nil
}

// length reads a uvarint count of items that take at least unit bytes each
// and checks it against the bytes left.
func (d *decoder) length(unit int) (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64((len(d.buf)-d.pos)/unit) {
		return 0, d.errorf("length %d exceeds the input", v)
	}
	return int(v), nil
}

// string reads n bytes as a string sliced from the copy of the input.
func (d *decoder) string(n int) (string, error) {
	if d.str == "" {
		d.str = string(d.buf)
	}
	s := d.str[d.pos : d.pos+n]
	if !utf8.ValidString(s) {
		return "", d.errorf("string is not valid UTF-8")
	}
	d.pos += n
	return s, nil
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.buf) {
		return nil, d.errorf("unexpected end of input")
	}
	tag := d.buf[d.pos]
	d.pos++
	switch tag {
	case codecNull:
		return nil, nil
	case codecFalse:
		return false, nil
	case codecTrue:
		return true, nil
	case codecUndefined:
		return Undefined, nil
	case codecInt64:
		u, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		return unzigzag(u), nil
	case codecFloat64:
		if len(d.buf)-d.pos < 8 {
			return nil, d.errorf("truncated Float64")
		}
		u := binary.LittleEndian.Uint64(d.buf[d.pos:])
		d.pos += 8
		return math.Float64frombits(u), nil
	case codecString:
		n, err := d.length(1)
		if err != nil {
			return nil, err
		}
		return d.string(n)
	case codecBytes:
		n, err := d.length(1)
		if err != nil {
			return nil, err
		}
		out := make([]byte, n)
		copy(out, d.buf[d.pos:])
		d.pos += n
		return out, nil
	case codecArray, codecObject:
		if depth >= MaxNesting {
			return nil, d.errorf("nesting deeper than %d", MaxNesting)
		}
		if tag == codecArray {
			return d.array(depth + 1)
		}
		return d.object(depth + 1)
	}
	d.pos--
	return nil, d.errorf("unknown tag 0x%02X", tag)
}

func (d *decoder) array(depth int) (any, error) {
	n, err := d.length(1)
	if err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range out {
		if out[i], err = d.value(depth); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *decoder) object(depth int) (any, error) {
	m, err := d.fields(depth)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// fields reads the count and fields of an object.
func (d *decoder) fields(depth int) (map[string]any, error) {
	n, err := d.length(2)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, n)
	prev := ""
	for i := range n {
		klen, err := d.length(1)
		if err != nil {
			return nil, err
		}
		k, err := d.string(klen)
		if err != nil {
			return nil, err
		}
		if i > 0 && k <= prev {
			return nil, d.errorf("field %q out of order", k)
		}
		if out[k], err = d.value(depth); err != nil {
			return nil, err
		}
		prev = k
	}
	return out, nil
}
