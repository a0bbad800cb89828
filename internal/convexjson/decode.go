package convexjson

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/value"
)

// decoder is a recursive-descent JSON parser that builds canonical values
// directly. Recursion is bounded by MaxNesting: only arrays and objects
// recurse, and each checks the depth before it does.
type decoder struct {
	op      string
	data    []byte
	pos     int
	export  bool      // numbers without '.' or exponent are Int64s
	patch   bool      // top-level fields may be {"$undefined": null}
	path    []segment // path of the value being read, for errors
	scratch []byte    // reused buffer for strings with escapes
}

func decode(b []byte, op string, export, patch bool) (any, error) {
	d := &decoder{op: op, data: b, export: export, patch: patch}
	d.skipSpace()
	x, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.fail(ErrSyntax, d.pos, "unexpected %s after the top-level value", d.describe())
	}
	return x, nil
}

func (d *decoder) fail(kind error, offset int, format string, args ...any) error {
	return &Error{Op: d.op, Path: pathString(d.path), Offset: offset, Err: kind, Reason: fmt.Sprintf(format, args...)}
}

// describe names the byte at pos for syntax errors.
func (d *decoder) describe() string {
	if d.pos >= len(d.data) {
		return "end of input"
	}
	c := d.data[d.pos]
	if c < utf8.RuneSelf {
		return fmt.Sprintf("character %q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// expect consumes c, after optional whitespace, or fails naming what it
// looked for.
func (d *decoder) expect(c byte, what string) error {
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return nil
	}
	return d.fail(ErrSyntax, d.pos, "unexpected %s, expected %s", d.describe(), what)
}

// value reads the value at pos (no leading whitespace), which sits inside
// depth arrays and objects.
func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.fail(ErrSyntax, d.pos, "unexpected end of input, expected a value")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.string()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, d.fail(ErrSyntax, d.pos, "unexpected %s, expected a value", d.describe())
}

func (d *decoder) literal(word string) error {
	if string(d.data[d.pos:min(len(d.data), d.pos+len(word))]) != word {
		return d.fail(ErrSyntax, d.pos, "invalid literal, expected %s", word)
	}
	d.pos += len(word)
	return nil
}

func (d *decoder) tooNested() error {
	return d.fail(ErrTooNested, d.pos, "value is nested more than %d levels deep", MaxNesting)
}

func (d *decoder) array(depth int) (any, error) {
	if depth >= MaxNesting {
		return nil, d.tooNested()
	}
	d.pos++ // '['
	out := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return out, nil
	}
	for i := 0; ; i++ {
		d.skipSpace()
		d.path = append(d.path, segment{index: i})
		x, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		out = append(out, x)
		d.skipSpace()
		if d.pos < len(d.data) {
			switch d.data[d.pos] {
			case ',':
				d.pos++
				continue
			case ']':
				d.pos++
				return out, nil
			}
		}
		return nil, d.fail(ErrSyntax, d.pos, "unexpected %s after array element, expected ',' or ']'", d.describe())
	}
}

// key reads an object key and the ':' after it.
func (d *decoder) key() (string, error) {
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return "", d.fail(ErrSyntax, d.pos, "unexpected %s, expected a field name", d.describe())
	}
	k, err := d.string()
	if err != nil {
		return "", err
	}
	if err := d.expect(':', "':' after field name"); err != nil {
		return "", err
	}
	d.skipSpace()
	return k, nil
}

func (d *decoder) object(depth int) (any, error) {
	start := d.pos
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		if depth >= MaxNesting {
			return nil, d.fail(ErrTooNested, start, "value is nested more than %d levels deep", MaxNesting)
		}
		return map[string]any{}, nil
	}
	keyAt := d.pos
	k, err := d.key()
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(k, "$") {
		// A special object is a scalar: no depth check.
		return d.special(k, keyAt, depth)
	}
	if depth >= MaxNesting {
		return nil, d.fail(ErrTooNested, start, "value is nested more than %d levels deep", MaxNesting)
	}
	out := make(map[string]any)
	for {
		d.path = append(d.path, segment{key: k, index: -1})
		x, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		out[k] = x
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			return out, nil
		}
		if d.pos >= len(d.data) || d.data[d.pos] != ',' {
			return nil, d.fail(ErrSyntax, d.pos, "unexpected %s after object field, expected ',' or '}'", d.describe())
		}
		d.pos++
		keyAt = d.pos
		if k, err = d.key(); err != nil {
			return nil, err
		}
		if strings.HasPrefix(k, "$") {
			return nil, d.fail(ErrInvalidValue, keyAt, "Field name %s starts with a '$', which is reserved.", k)
		}
		if _, dup := out[k]; dup {
			return nil, d.fail(ErrInvalidValue, keyAt, "duplicate field name %q", k)
		}
	}
}

// special reads the rest of an object whose first key k starts with '$':
// one of the one-field forms $integer, $float, $bytes (and $undefined as a
// top-level patch field value). pos is at the field's value.
func (d *decoder) special(k string, keyAt, depth int) (any, error) {
	switch k {
	case "$integer", "$float", "$bytes":
	case "$undefined":
		if !d.patch || depth != 1 || len(d.path) != 1 || d.path[0].index >= 0 {
			return nil, d.fail(ErrInvalidValue, keyAt, "$undefined is only allowed as the value of a top-level field of a patch")
		}
		if err := d.literal("null"); err != nil {
			return nil, d.fail(ErrInvalidValue, d.pos, "$undefined must be null")
		}
		return value.Undefined, d.endSpecial(k)
	case "$set", "$map":
		return nil, d.fail(ErrInvalidValue, keyAt, "%s is no longer supported as a Convex type", k)
	default:
		return nil, d.fail(ErrInvalidValue, keyAt, "Field name %s starts with a '$', which is reserved.", k)
	}
	at := d.pos
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.fail(ErrInvalidValue, at, "the value of %s must be a string", k)
	}
	s, err := d.string()
	if err != nil {
		return nil, err
	}
	raw, err := decodeBase64(s)
	if err != nil {
		return nil, d.fail(ErrInvalidValue, at, "invalid base64 in %s: %v", k, err)
	}
	var x any
	switch k {
	case "$bytes":
		x = raw
	case "$integer":
		if len(raw) != 8 {
			return nil, d.fail(ErrInvalidValue, at, "Received %d bytes, expected 8 for $integer", len(raw))
		}
		x = int64(binary.LittleEndian.Uint64(raw))
	case "$float":
		if len(raw) != 8 {
			return nil, d.fail(ErrInvalidValue, at, "Received %d bytes, expected 8 for $float", len(raw))
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(raw))
		if !math.IsNaN(f) && !math.IsInf(f, 0) && !(f == 0 && math.Signbit(f)) {
			return nil, d.fail(ErrInvalidValue, at, "Float %s should be encoded as a number", strconv.FormatFloat(f, 'g', -1, 64))
		}
		x = f
	}
	return x, d.endSpecial(k)
}

// endSpecial consumes the '}' that must close a special object.
func (d *decoder) endSpecial(k string) error {
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	if d.pos < len(d.data) && d.data[d.pos] == ',' {
		return d.fail(ErrInvalidValue, d.pos, "%s must be the only field of its object", k)
	}
	return d.fail(ErrSyntax, d.pos, "unexpected %s after object field, expected '}'", d.describe())
}

// decodeBase64 decodes standard base64 with padding and zero trailing bits,
// so that each byte string has exactly one accepted spelling.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("line break in base64 text")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

// number reads a JSON number. In export mode a number without fraction or
// exponent that fits an int64 is an Int64; anything else is a Float64,
// rounded correctly from the full text.
func (d *decoder) number() (any, error) {
	start := d.pos
	integer := true
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.digits() == 0:
		return nil, d.fail(ErrSyntax, d.pos, "unexpected %s in number, expected a digit", d.describe())
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		integer = false
		d.pos++
		if d.digits() == 0 {
			return nil, d.fail(ErrSyntax, d.pos, "unexpected %s after decimal point, expected a digit", d.describe())
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		integer = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return nil, d.fail(ErrSyntax, d.pos, "unexpected %s in exponent, expected a digit", d.describe())
		}
	}
	text := string(d.data[start:d.pos])
	if d.export && integer {
		if text == "-0" {
			return math.Copysign(0, -1), nil // serde_json reads -0 as a float
		}
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, d.fail(ErrInvalidValue, start, "number %s is out of range for Float64", text)
	}
	return f, nil
}

// digits consumes decimal digits and returns how many.
func (d *decoder) digits() int {
	start := d.pos
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos - start
}

// string reads a JSON string; pos is at the opening quote. The result must
// be valid UTF-8 and may not contain lone surrogates.
func (d *decoder) string() (string, error) {
	start := d.pos
	d.pos++
	// Fast path: no escapes.
	for i := d.pos; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			s := d.data[d.pos:i]
			if !utf8.Valid(s) {
				return "", d.fail(ErrSyntax, start, "invalid UTF-8 in string")
			}
			d.pos = i + 1
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	buf := d.scratch[:0]
	for {
		if d.pos >= len(d.data) {
			return "", d.fail(ErrSyntax, start, "unterminated string")
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.scratch = buf
			if !utf8.Valid(buf) {
				return "", d.fail(ErrSyntax, start, "invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", d.fail(ErrSyntax, d.pos, "control character 0x%02x in string", c)
		case c == '\\':
			var err error
			if buf, err = d.escape(buf); err != nil {
				return "", err
			}
		default:
			buf = append(buf, c)
			d.pos++
		}
	}
}

// escape reads the escape sequence at pos and appends what it stands for.
func (d *decoder) escape(buf []byte) ([]byte, error) {
	at := d.pos
	if d.pos+1 >= len(d.data) {
		return nil, d.fail(ErrSyntax, at, "unterminated string")
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
		r, ok := d.hex4()
		if !ok {
			return nil, d.fail(ErrSyntax, at, "invalid \\u escape")
		}
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if r < 0xDC00 && d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
				d.pos += 2
				if r2, ok = d.hex4(); !ok {
					return nil, d.fail(ErrSyntax, d.pos-2, "invalid \\u escape")
				}
			}
			r = utf16.DecodeRune(r, r2)
			if r == utf8.RuneError {
				return nil, d.fail(ErrInvalidValue, at, "lone surrogate in string (\\u%s), which is not valid Unicode", d.data[at+2:at+6])
			}
		}
		return utf8.AppendRune(buf, r), nil
	}
	return nil, d.fail(ErrSyntax, at, "invalid escape \\%c in string", c)
}

// hex4 reads four hex digits.
func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}
