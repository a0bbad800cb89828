package value

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Sort-key tags, as in Convex's crates/value/src/sorting.rs. The Int64 tags
// encode the sign and the byte width: their distance from tagInt0 is 1, 2, 3
// or 4 for 1, 2, 4 or 8 big-endian bytes.
const (
	tagUndefined byte = 0x01
	tagNull      byte = 0x03
	tagIntNeg8   byte = 0x04
	tagInt0      byte = 0x08
	tagIntPos8   byte = 0x0C
	tagFloat64   byte = 0x0D
	tagFalse     byte = 0x0E
	tagTrue      byte = 0x0F
	tagString    byte = 0x10
	tagBytes     byte = 0x11
	tagArray     byte = 0x12
	tagObject    byte = 0x15

	// tagInvalid marks a Go value that cannot be normalised. It is not a
	// Convex tag: it sorts after every value, as Compare orders such inputs,
	// and DecodeKey rejects it.
	tagInvalid byte = 0xFE

	keyTerminator byte = 0x00
	keyEscape     byte = 0xFF
)

// AppendKey appends the sort key of x to dst and returns the extended slice.
//
// The sort key is Convex's order-preserving encoding
// (docs/semantics.md#value-order; "largely follows FoundationDB's tuple
// layer"): a tag byte, then a payload. Int64s take 0, 1,
// 2, 4 or 8 big-endian bytes after a tag that encodes sign and width; Float64s
// take 8 big-endian bytes in totalOrder form; strings and bytes are written
// with every 0x00 escaped as 0x00 0xFF and a 0x00 terminator; arrays and
// objects end with 0x00, an object writing each field name as an escaped
// string before its value. The empty field name is written as 0x00 0xFF so
// that it cannot be mistaken for the object's terminator. Strings are
// written as their bytes; DecodeKey rejects invalid UTF-8.
//
// Keys are self-delimiting, so for canonical values a and b,
// bytes.Compare(AppendKey(nil, a), AppendKey(nil, b)) has the sign of
// Compare(a, b), and concatenated keys compare as tuples.
//
// x should be canonical (see [Normalize]) or [Undefined] (tag 0x01, allowed at
// any depth). [ID] is written as a string. Go integer kinds, float32 and the
// containers Normalize accepts are converted as Normalize converts them. A
// value Normalize rejects is written as the single byte 0xFE, which sorts
// after every value (as Compare orders it) and which DecodeKey rejects.
// Field names must not contain the byte 0x00 (valid field names never do,
// see [CheckFieldName]); for such names the key order may differ from
// Compare.
func AppendKey(dst []byte, x any) []byte {
	switch t := x.(type) {
	case nil:
		return append(dst, tagNull)
	case int64:
		return appendKeyInt(dst, t)
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, tagFloat64), floatOrderBits(t))
	case bool:
		if t {
			return append(dst, tagTrue)
		}
		return append(dst, tagFalse)
	case string:
		return appendEscaped(append(dst, tagString), t)
	case ID:
		return appendEscaped(append(dst, tagString), string(t))
	case []byte:
		return appendEscapedBytes(append(dst, tagBytes), t)
	case []any:
		dst = append(dst, tagArray)
		for _, e := range t {
			dst = AppendKey(dst, e)
		}
		return append(dst, keyTerminator)
	case map[string]any:
		return appendKeyObject(dst, t)
	case undefinedType:
		return append(dst, tagUndefined)
	}
	if i, ok, err := goInt(x, ""); ok {
		if err != nil {
			return append(dst, tagInvalid)
		}
		return appendKeyInt(dst, i.(int64))
	}
	if f, ok := x.(float32); ok {
		return AppendKey(dst, float64(f))
	}
	n, err := Normalize(x)
	if err != nil {
		return append(dst, tagInvalid)
	}
	return AppendKey(dst, n)
}

// Key returns the sort key of the tuple xs: the concatenation of the keys of
// its elements. Because each element's key is self-delimiting,
// bytes.Compare of two tuple keys is the lexicographic Compare of the tuples
// (a proper prefix sorts first).
func Key(xs ...any) []byte {
	dst := make([]byte, 0, 16*len(xs))
	for _, x := range xs {
		dst = AppendKey(dst, x)
	}
	return dst
}

// intWidth returns the distance of n's tag from tagInt0: 1, 2, 3 or 4 for a
// payload of 1, 2, 4 or 8 bytes. n must not be 0.
func intWidth(n int64) byte {
	switch {
	case n >= math.MinInt8 && n <= math.MaxInt8:
		return 1
	case n >= math.MinInt16 && n <= math.MaxInt16:
		return 2
	case n >= math.MinInt32 && n <= math.MaxInt32:
		return 3
	}
	return 4
}

func appendKeyInt(dst []byte, n int64) []byte {
	if n == 0 {
		return append(dst, tagInt0)
	}
	w := intWidth(n)
	tag := tagInt0 + w
	if n < 0 {
		tag = tagInt0 - w
	}
	size := 1 << (w - 1)
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(n))
	return append(append(dst, tag), buf[8-size:]...)
}

// appendEscaped writes s with every 0x00 escaped as 0x00 0xFF, then the
// 0x00 terminator.
func appendEscaped(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, keyTerminator)
		if i < 0 {
			break
		}
		dst = append(append(dst, s[:i+1]...), keyEscape)
		s = s[i+1:]
	}
	return append(append(dst, s...), keyTerminator)
}

// AppendStringKey appends the sort key of the String value s, as
// AppendKey(dst, s) does, without converting s to an interface (so a
// caller's string(b) of a short b need not allocate).
func AppendStringKey(dst []byte, s string) []byte {
	return appendEscaped(append(dst, tagString), s)
}

// TrailingString reads the sort key of a String of n bytes at the end of
// key, for a string known to hold no 0x00 (an ID, say), whose sort key is
// then the tag, the bytes and the terminator. It returns the string's bytes
// and its whole sort key, both aliasing key, or ok == false when key does
// not end that way.
func TrailingString(key []byte, n int) (s, sortKey []byte, ok bool) {
	if n < 0 || len(key) < n+2 {
		return nil, nil, false
	}
	sortKey = key[len(key)-n-2:]
	if sortKey[0] != tagString || sortKey[n+1] != keyTerminator || bytes.IndexByte(sortKey[1:n+1], keyTerminator) >= 0 {
		return nil, nil, false
	}
	return sortKey[1 : n+1], sortKey, true
}

// appendEscapedBytes is appendEscaped for a byte slice.
func appendEscapedBytes(dst []byte, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, keyTerminator)
		if i < 0 {
			break
		}
		dst = append(append(dst, s[:i+1]...), keyEscape)
		s = s[i+1:]
	}
	return append(append(dst, s...), keyTerminator)
}

func appendKeyObject(dst []byte, m map[string]any) []byte {
	dst = append(dst, tagObject)
	var buf [16]field
	for _, f := range sortedFields(m, buf[:0]) {
		if f.name == "" {
			dst = append(dst, keyTerminator, keyEscape)
		} else {
			dst = appendEscaped(dst, f.name)
		}
		dst = AppendKey(dst, f.value)
	}
	return append(dst, keyTerminator)
}

// ErrMalformedKey is wrapped by every error that DecodeKey and DecodeTuple
// return.
var ErrMalformedKey = errors.New("malformed sort key")

// DecodeKey decodes the first sort key in b and returns its value and the
// bytes after it. It is the inverse of [AppendKey] for canonical values and
// Undefined: Int64s decode as int64, IDs as string, Bytes as a non-nil
// []byte, empty arrays as []any{} and empty objects as map[string]any{}.
//
// Decoding is strict: it accepts exactly the keys AppendKey writes for
// canonical values (shortest integer width, valid UTF-8, escapes only after
// 0x00, field names in strictly increasing order, nesting at most
// [MaxNesting]), so a key that decodes re-encodes to the same bytes. Any
// other input gives an error wrapping [ErrMalformedKey]; DecodeKey never
// panics. The returned values do not alias b.
func DecodeKey(b []byte) (x any, rest []byte, err error) {
	d := keyDecoder{buf: b}
	x, err = d.value(0)
	if err != nil {
		return nil, nil, err
	}
	return x, d.buf, nil
}

// DecodeTuple decodes a tuple key written by [Key] into its elements. An
// empty key decodes as an empty, non-nil tuple.
func DecodeTuple(b []byte) ([]any, error) {
	out := []any{}
	d := keyDecoder{buf: b}
	for len(d.buf) > 0 {
		x, err := d.value(0)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", len(out), err)
		}
		out = append(out, x)
	}
	return out, nil
}

// PrefixSuccessor returns the smallest byte string that is greater than
// every byte string that has k as a prefix, or nil when there is none (k is
// empty or all 0xFF). It is the exclusive end of the range "all keys with
// prefix k": [k, PrefixSuccessor(k)), as Convex's End::after_prefix
// (BinaryKey::increment). k is not modified.
//
// For a tuple prefix built with [Key], that range also holds the keys whose
// last string or bytes element continues past an embedded 0x00, since
// "v\x00w" is written as "v" 0x00 0xFF "w" 0x00: the range of Key("v")
// holds Key("v\x00w"). Convex has the same quirk; callers that need exact
// equality check the decoded values.
func PrefixSuccessor(k []byte) []byte {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] != 0xFF {
			out := bytes.Clone(k[:i+1])
			out[i]++
			return out
		}
	}
	return nil
}

// keyDecoder reads sort keys from buf, consuming it.
type keyDecoder struct {
	buf []byte
}

func (d *keyDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedKey}, args...)...)
}

func (d *keyDecoder) value(depth int) (any, error) {
	if len(d.buf) == 0 {
		return nil, d.errorf("unexpected end of key")
	}
	tag := d.buf[0]
	d.buf = d.buf[1:]
	switch {
	case tag == tagUndefined:
		return Undefined, nil
	case tag == tagNull:
		return nil, nil
	case tag == tagInt0:
		return int64(0), nil
	case tag >= tagIntNeg8 && tag <= tagIntPos8:
		return d.int(tag)
	case tag == tagFloat64:
		if len(d.buf) < 8 {
			return nil, d.errorf("truncated Float64")
		}
		u := binary.BigEndian.Uint64(d.buf)
		d.buf = d.buf[8:]
		if u&(1<<63) != 0 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		return math.Float64frombits(u), nil
	case tag == tagFalse:
		return false, nil
	case tag == tagTrue:
		return true, nil
	case tag == tagString:
		s, err := d.escaped()
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(s) {
			return nil, d.errorf("string is not valid UTF-8")
		}
		return string(s), nil
	case tag == tagBytes:
		s, err := d.escaped()
		if err != nil {
			return nil, err
		}
		out := make([]byte, len(s))
		copy(out, s)
		return out, nil
	case tag == tagArray || tag == tagObject:
		if depth >= MaxNesting {
			return nil, d.errorf("nesting deeper than %d", MaxNesting)
		}
		if tag == tagArray {
			return d.array(depth + 1)
		}
		return d.object(depth + 1)
	}
	return nil, d.errorf("unknown tag 0x%02X", tag)
}

func (d *keyDecoder) int(tag byte) (any, error) {
	neg := tag < tagInt0
	w := tag - tagInt0
	if neg {
		w = tagInt0 - tag
	}
	size := 1 << (w - 1)
	if len(d.buf) < size {
		return nil, d.errorf("truncated Int64")
	}
	var buf [8]byte
	if neg {
		buf = [8]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	}
	copy(buf[8-size:], d.buf[:size])
	d.buf = d.buf[size:]
	n := int64(binary.BigEndian.Uint64(buf[:]))
	if n == 0 || (n < 0) != neg || intWidth(n) != w {
		return nil, d.errorf("Int64 %d not in its shortest form", n)
	}
	return n, nil
}

// escaped reads an escaped, terminated byte string. The result may alias
// the input when it contains no escapes.
func (d *keyDecoder) escaped() ([]byte, error) {
	i := bytes.IndexByte(d.buf, keyTerminator)
	if i < 0 {
		return nil, d.errorf("unterminated string")
	}
	if i+1 >= len(d.buf) || d.buf[i+1] != keyEscape {
		s := d.buf[:i]
		d.buf = d.buf[i+1:]
		return s, nil
	}
	var out []byte
	for {
		i := bytes.IndexByte(d.buf, keyTerminator)
		if i < 0 {
			return nil, d.errorf("unterminated string")
		}
		out = append(out, d.buf[:i]...)
		if i+1 < len(d.buf) && d.buf[i+1] == keyEscape {
			out = append(out, keyTerminator)
			d.buf = d.buf[i+2:]
			continue
		}
		d.buf = d.buf[i+1:]
		return out, nil
	}
}

func (d *keyDecoder) array(depth int) (any, error) {
	out := []any{}
	for {
		if len(d.buf) == 0 {
			return nil, d.errorf("unterminated array")
		}
		if d.buf[0] == keyTerminator {
			d.buf = d.buf[1:]
			return out, nil
		}
		x, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
}

func (d *keyDecoder) object(depth int) (any, error) {
	out := map[string]any{}
	prev, first := "", true
	for {
		if len(d.buf) == 0 {
			return nil, d.errorf("unterminated object")
		}
		var name string
		switch {
		case len(d.buf) >= 2 && d.buf[0] == keyTerminator && d.buf[1] == keyEscape:
			d.buf = d.buf[2:] // the empty field name
		case d.buf[0] == keyTerminator:
			d.buf = d.buf[1:]
			return out, nil
		default:
			s, err := d.escaped()
			if err != nil {
				return nil, err
			}
			if bytes.IndexByte(s, keyTerminator) >= 0 || !utf8.Valid(s) {
				return nil, d.errorf("invalid field name %q", s)
			}
			name = string(s)
		}
		if !first && name <= prev {
			return nil, d.errorf("field %q out of order", name)
		}
		x, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		out[name] = x
		prev, first = name, false
	}
}
