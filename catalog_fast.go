package livedb

import (
	"bytes"
	"encoding/base64"
	"math"
	"unicode/utf8"
)

// A fast path for the stored catalog as livedb itself writes it. Every Open
// of a file reads the catalog, and in a fresh process the general decoder's
// json.Valid, json.Unmarshal of each leaf and json.Compact of the schema
// run encoding/json's scanner and reflection for the first time: code and
// tables the rest of an open and its first query never use, which cost
// more than the few kilobytes they read (W7, issue 19). The catalog
// appendCatalogJSON writes has one form: keys in the order it writes them,
// no white space, numbers as plain digits. decodeCatalogCanonical reads
// that form alone and gives up (false) on anything else, which the general
// decoder then reads as json.Unmarshal does; so it needs to be right only
// on what it accepts, where it gives json.Unmarshal's result
// (catalog_fast_whitebox_test.go checks both, and fuzzes it).

// maxFastJSONDepth bounds the nesting that scanJSON follows; a deeper
// value is left to encoding/json.
const maxFastJSONDepth = 64

// scanJSON returns the end of the JSON value that begins at b[i], and
// whether there is one there: ok only when b[i:end] is valid JSON as
// encoding/json's scanner reads it. With compact set, it also fails on
// white space anywhere outside strings. It may fail on valid JSON (nesting
// deeper than maxFastJSONDepth), never succeed on invalid JSON.
func scanJSON(b []byte, i int, compact bool, depth int) (end int, ok bool) {
	if !compact {
		i = skipSpace(b, i)
	}
	if i >= len(b) || depth > maxFastJSONDepth {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return scanJSONString(b, i)
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i++
		if !compact {
			i = skipSpace(b, i)
		}
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i, ok = scanJSON(b, i, compact, depth+1); !ok || b[i-1] != '"' {
					return i, false // keys are strings
				}
				if !compact {
					i = skipSpace(b, i)
				}
				if i >= len(b) || b[i] != ':' {
					return i, false
				}
				i++
			}
			if i, ok = scanJSON(b, i, compact, depth+1); !ok {
				return i, false
			}
			if !compact {
				i = skipSpace(b, i)
			}
			switch {
			case i >= len(b):
				return i, false
			case b[i] == closer:
				return i + 1, true
			case b[i] != ',':
				return i, false
			}
			i++
		}
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return scanJSONNumber(b, i)
	}
}

// scanJSONString returns the end of the JSON string that begins at b[i]
// (a '"'), and whether it is whole and valid: escapes among \" \\ \/ \b
// \f \n \r \t and \u with four hex digits, no control character. Other
// bytes, invalid UTF-8 included, are valid in a string, as encoding/json's
// scanner reads it.
func scanJSONString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanLiteral returns the end of lit at b[i] and whether it is there.
func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return i, false
	}
	return i + len(lit), true
}

// scanJSONNumber returns the end of the JSON number at b[i] and whether it
// is one: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanJSONNumber(b []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		start := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		return i, i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b) || !isDigit(b[i]):
		return i, false
	case b[i] == '0':
		i++
	default:
		i, _ = digits(i)
	}
	ok := true
	if i < len(b) && b[i] == '.' {
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}

// isCompactJSON reports whether b is one valid JSON value with no white
// space outside its strings: json.Compact would give b back unchanged.
func isCompactJSON(b []byte) bool {
	end, ok := scanJSON(b, 0, true, 0)
	return ok && end == len(b)
}

// isMarshaledRaw reports whether raw is valid JSON in the form json.Marshal
// gives a json.RawMessage (compacted, HTML-escaped), so that appendJSONRaw
// would append it as it is.
func isMarshaledRaw(raw []byte) bool { return isCompactJSON(raw) && !needsHTMLEscape(raw) }

// needsHTMLEscape reports whether json.HTMLEscape would change b: it holds
// <, >, & or the UTF-8 of U+2028 or U+2029.
func needsHTMLEscape(b []byte) bool {
	for i, c := range b {
		if c == '<' || c == '>' || c == '&' || c == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && b[i+2]&^1 == 0xA8 {
			return true
		}
	}
	return false
}

// canonReader reads a catalog in the form appendCatalogJSON writes. Its
// methods consume what they read and report false on anything else,
// after which ok is false and the reader stops.
type canonReader struct {
	b  []byte
	i  int
	ok bool
}

// lit reads s, which must come next.
func (r *canonReader) lit(s string) bool {
	if r.opt(s) {
		return true
	}
	r.ok = false
	return false
}

// opt reads s if it comes next, and reports whether it did; it never
// fails the reader.
func (r *canonReader) opt(s string) bool {
	if r.ok && bytes.HasPrefix(r.b[r.i:], []byte(s)) {
		r.i += len(s)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8: one json.Unmarshal decodes to its bytes as they are.
func (r *canonReader) str() string {
	if !r.lit(`"`) {
		return ""
	}
	start, ascii := r.i, true
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(s) {
				r.ok = false // json.Unmarshal replaces invalid UTF-8
				return ""
			}
			return string(s)
		case c < 0x20 || c == '\\':
			r.ok = false
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	r.ok = false
	return ""
}

// uint reads a number of plain digits, without a leading zero, that is
// at most max.
func (r *canonReader) uint(max uint64) uint64 {
	if !r.ok {
		return 0
	}
	start := r.i
	var n uint64
	for r.i < len(r.b) && isDigit(r.b[r.i]) && r.i-start < 10 {
		n = n*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	if r.i == start || r.i < len(r.b) && isDigit(r.b[r.i]) || r.b[start] == '0' && r.i-start > 1 || n > max {
		r.ok = false
		return 0
	}
	return n
}

// strList reads null (nil) or an array of strings (an empty one is a new
// empty slice, as json.Unmarshal makes it).
func (r *canonReader) strList() []string { return canonList(r, (*canonReader).str) }

// canonList reads null (nil) or an array of items, each read by item (an
// empty array is a new empty slice, as json.Unmarshal makes it).
func canonList[T any](r *canonReader, item func(*canonReader) T) []T {
	if r.opt("null") {
		return nil
	}
	list := []T{}
	if !r.lit("[") || r.opt("]") {
		return list
	}
	for r.ok {
		list = append(list, item(r))
		if r.opt("]") {
			return list
		}
		r.lit(",")
	}
	return list
}

// decodeCatalogCanonical decodes b, a catalog in the form
// appendCatalogJSON writes, into a zero cj as json.Unmarshal would. It
// reports false, leaving cj partly filled, when b is in any other form.
func decodeCatalogCanonical(b []byte, cj *catalogJSON) bool {
	r := &canonReader{b: b, ok: true}
	r.lit(`{"version":`)
	cj.Version = int(r.uint(math.MaxInt32))
	r.lit(`,"nextTable":`)
	cj.NextTable = uint32(r.uint(math.MaxUint32))
	r.lit(`,"nextIndex":`)
	cj.NextIndex = uint32(r.uint(math.MaxUint32))
	r.lit(`,"secret":`)
	if !r.opt("null") {
		cj.Secret = r.base64()
	}
	if r.opt(`,"schema":`) {
		end, ok := scanJSON(b, r.i, true, 0)
		if !ok {
			return false
		}
		cj.Schema = append(cj.Schema[:0], b[r.i:end]...) // b may be the store's memory: a copy
		r.i = end
	}
	r.lit(`,"tables":`)
	cj.Tables = canonList(r, (*canonReader).table)
	r.lit("}")
	return r.ok && r.i == len(b)
}

// base64 reads a string of standard base64 and decodes it, as
// json.Unmarshal decodes a []byte.
func (r *canonReader) base64() []byte {
	s := r.str()
	if !r.ok {
		return nil
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, []byte(s))
	if err != nil {
		r.ok = false // json.Unmarshal's error: the general decoder gives it
		return nil
	}
	return out[:n]
}

// table reads one table as appendTableJSON writes it.
func (r *canonReader) table() tableJSON {
	var tj tableJSON
	r.lit(`{"name":`)
	tj.Name = r.str()
	r.lit(`,"number":`)
	tj.Number = uint32(r.uint(math.MaxUint32))
	r.lit(`,"indexes":`)
	tj.Indexes = canonList(r, (*canonReader).index)
	if r.opt(`,"search":[`) {
		tj.Search = []searchJSON{}
		for r.ok {
			var sj searchJSON
			r.lit(`{"name":`)
			sj.Name = r.str()
			r.lit(`,"id":`)
			sj.ID = uint32(r.uint(math.MaxUint32))
			r.lit(`,"field":`)
			sj.Field = r.str()
			if r.opt(`,"filters":`) {
				sj.Filters = r.strList()
			}
			r.lit("}")
			tj.Search = append(tj.Search, sj)
			if r.opt("]") {
				break
			}
			r.lit(",")
		}
	}
	r.lit("}")
	return tj
}

// index reads one index as appendIndexJSON writes it.
func (r *canonReader) index() indexJSON {
	var ij indexJSON
	r.lit(`{"name":`)
	ij.Name = r.str()
	r.lit(`,"id":`)
	ij.ID = uint32(r.uint(math.MaxUint32))
	if r.opt(`,"fields":`) {
		ij.Fields = r.strList()
	}
	ij.Unique = r.opt(`,"unique":true`)
	if r.opt(`,"aggregate":`) {
		ij.AggID = uint32(r.uint(math.MaxUint32))
	}
	if r.opt(`,"sums":`) {
		ij.Sums = r.strList()
	}
	if r.opt(`,"vectorField":`) {
		ij.VectorField = r.str()
	}
	if r.opt(`,"dimensions":`) {
		ij.Dimensions = int(r.uint(math.MaxInt32))
	}
	r.lit("}")
	return ij
}
