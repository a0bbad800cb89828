package convexjson

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/value"
)

// encoder writes one value. Encoders are pooled; buf and keys keep their
// capacity between uses.
type encoder struct {
	op     string
	export bool      // export JSON instead of Convex-JSON
	buf    []byte    // output so far
	keys   []string  // sorted keys of the objects being written, innermost last
	path   []segment // path of the value being written, for errors
}

var encoderPool = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 512)} }}

// maxPooledBuf is the largest buffer an encoder keeps in the pool.
const maxPooledBuf = 64 << 10

func encode(x any, op string, export, patch bool) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	e.op, e.export = op, export
	e.buf, e.keys, e.path = e.buf[:0], e.keys[:0], e.path[:0]
	var err error
	if patch {
		err = e.object(x.(map[string]any), 0, true)
	} else {
		err = e.value(x, 0)
	}
	var out []byte
	if err == nil {
		out = bytes.Clone(e.buf)
	}
	clear(e.keys[:cap(e.keys)])
	clear(e.path[:cap(e.path)])
	if cap(e.buf) <= maxPooledBuf {
		encoderPool.Put(e)
	}
	return out, err
}

func (e *encoder) fail(kind error, cause error, format string, args ...any) error {
	return &Error{Op: e.op, Path: pathString(e.path), Offset: -1, Err: kind, Reason: fmt.Sprintf(format, args...), Cause: cause}
}

// value writes x, which sits inside depth arrays and objects.
func (e *encoder) value(x any, depth int) error {
	switch t := x.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
	case int64:
		e.int64(t)
	case float64:
		e.float64(t)
	case string:
		return e.string(t)
	case value.ID:
		return e.string(string(t))
	case []byte:
		e.special("$bytes", t)
	case []any:
		return e.array(len(t), depth, func(i int) any { return t[i] })
	case map[string]any:
		return e.object(t, depth, false)
	case []map[string]any:
		// Walked here rather than by value.Normalize, whose recursion has no
		// depth limit.
		return e.array(len(t), depth, func(i int) any { return t[i] })
	default:
		if value.IsUndefined(x) {
			return e.fail(ErrInvalidValue, nil, "undefined is not a valid Convex value")
		}
		n, err := value.Normalize(x)
		if err != nil {
			var nv *value.NotValueError
			if errors.As(err, &nv) {
				return &Error{Op: e.op, Path: pathString(e.path) + nv.Path, Offset: -1, Err: ErrInvalidValue, Reason: nv.Reason, Cause: err}
			}
			return e.fail(ErrInvalidValue, err, "%T is not a supported Convex type", x)
		}
		return e.value(n, depth)
	}
	return nil
}

func (e *encoder) int64(n int64) {
	if e.export {
		e.buf = strconv.AppendInt(e.buf, n, 10)
		return
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	e.special("$integer", b[:])
}

func (e *encoder) float64(f float64) {
	if e.export {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			e.specialFloat(f)
			return
		}
		e.buf = appendRyu(e.buf, f)
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || (f == 0 && math.Signbit(f)) {
		e.specialFloat(f)
		return
	}
	e.buf = appendJS(e.buf, f)
}

func (e *encoder) specialFloat(f float64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
	e.special("$float", b[:])
}

// special writes {"<key>":"<base64 of b>"}.
func (e *encoder) special(key string, b []byte) {
	e.buf = append(e.buf, `{"`...)
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, `":"`...)
	e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
	e.buf = append(e.buf, `"}`...)
}

func (e *encoder) string(s string) error {
	if !utf8.ValidString(s) {
		return e.fail(ErrInvalidValue, nil, "string is not valid UTF-8")
	}
	e.buf = appendQuoted(e.buf, s)
	return nil
}

func (e *encoder) array(n, depth int, elem func(int) any) error {
	if depth >= MaxNesting {
		return e.fail(ErrTooNested, nil, "value is nested more than %d levels deep", MaxNesting)
	}
	e.buf = append(e.buf, '[')
	for i := range n {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.path = append(e.path, segment{index: i})
		if err := e.value(elem(i), depth+1); err != nil {
			return err
		}
		e.path = e.path[:len(e.path)-1]
	}
	e.buf = append(e.buf, ']')
	return nil
}

// object writes m with its keys in byte order. Fields holding
// value.Undefined are left out, or, in a patch (top level only), written as
// {"$undefined":null}.
func (e *encoder) object(m map[string]any, depth int, patch bool) error {
	if depth >= MaxNesting {
		return e.fail(ErrTooNested, nil, "value is nested more than %d levels deep", MaxNesting)
	}
	start := len(e.keys)
	for k, v := range m {
		if patch || !value.IsUndefined(v) {
			e.keys = append(e.keys, k)
		}
	}
	end := len(e.keys)
	slices.Sort(e.keys[start:end])
	e.buf = append(e.buf, '{')
	for i := start; i < end; i++ {
		k := e.keys[i]
		e.path = append(e.path, segment{key: k, index: -1})
		if err := e.fieldName(k); err != nil {
			return err
		}
		if i > start {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendQuoted(e.buf, k)
		e.buf = append(e.buf, ':')
		v := m[k]
		if patch && value.IsUndefined(v) {
			e.buf = append(e.buf, `{"$undefined":null}`...)
		} else if err := e.value(v, depth+1); err != nil {
			return err
		}
		e.path = e.path[:len(e.path)-1]
	}
	e.keys = e.keys[:start]
	e.buf = append(e.buf, '}')
	return nil
}

// fieldName checks the rules a field name must meet to survive a round
// trip: valid UTF-8, and no leading '$' (reserved for special objects).
// Convex's further field-name rules (non-control ASCII, at most 1024 bytes)
// belong to validation, not to the encoding.
func (e *encoder) fieldName(k string) error {
	if strings.HasPrefix(k, "$") {
		return e.fail(ErrInvalidValue, nil, "Field name %s starts with a '$', which is reserved.", k)
	}
	if !utf8.ValidString(k) {
		return e.fail(ErrInvalidValue, nil, "field name %q is not valid UTF-8", k)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s, valid UTF-8, as a JSON string, escaping as
// JavaScript's JSON.stringify and serde_json do: '"', '\\' and the control
// characters below 0x20 (\b \t \n \f \r by name, the rest as \u00xx); all
// other characters as themselves.
func appendQuoted(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
