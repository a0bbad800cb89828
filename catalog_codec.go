package livedb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The stored catalog is JSON, written and read here without encoding/json's
// reflection over catalogJSON and its parts. Every Open reads the catalog
// and writes it again to compare, and in a fresh process encoding/json
// first builds its field tables and encoders for each struct type by
// reflection, which cost more than the rest of loading the catalog. The
// bytes and the results are encoding/json's: appendCatalogJSON writes what
// json.Marshal writes for a catalogJSON, and decodeCatalogJSON fills a
// catalogJSON as json.Unmarshal does (catalog_codec_whitebox_test.go
// checks both, and fuzzes the decoder against json.Unmarshal). Leaf values (strings,
// numbers, booleans, byte strings, string lists) still go through
// encoding/json, whose decoders for those types need no reflection over
// structs; only the objects are walked by hand.

// appendCatalogJSON appends cj as json.Marshal(cj) writes it.
func appendCatalogJSON(dst []byte, cj *catalogJSON) ([]byte, error) {
	dst = append(dst, `{"version":`...)
	dst = strconv.AppendInt(dst, int64(cj.Version), 10)
	dst = append(dst, `,"nextTable":`...)
	dst = strconv.AppendUint(dst, uint64(cj.NextTable), 10)
	dst = append(dst, `,"nextIndex":`...)
	dst = strconv.AppendUint(dst, uint64(cj.NextIndex), 10)
	dst = append(dst, `,"secret":`...)
	dst = appendJSONBytes(dst, cj.Secret)
	if len(cj.Schema) > 0 {
		dst = append(dst, `,"schema":`...)
		var err error
		if dst, err = appendJSONRaw(dst, cj.Schema); err != nil {
			return nil, fmt.Errorf("catalog schema: %w", err)
		}
	}
	dst = append(dst, `,"tables":`...)
	if cj.Tables == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range cj.Tables {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTableJSON(dst, &cj.Tables[i])
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

func appendTableJSON(dst []byte, tj *tableJSON) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, tj.Name, true)
	dst = append(dst, `,"number":`...)
	dst = strconv.AppendUint(dst, uint64(tj.Number), 10)
	dst = append(dst, `,"indexes":`...)
	if tj.Indexes == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range tj.Indexes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendIndexJSON(dst, &tj.Indexes[i])
		}
		dst = append(dst, ']')
	}
	if len(tj.Search) > 0 {
		dst = append(dst, `,"search":[`...)
		for i, sj := range tj.Search {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = appendJSONString(dst, sj.Name, true)
			dst = append(dst, `,"id":`...)
			dst = strconv.AppendUint(dst, uint64(sj.ID), 10)
			dst = append(dst, `,"field":`...)
			dst = appendJSONString(dst, sj.Field, true)
			if len(sj.Filters) > 0 {
				dst = append(dst, `,"filters":`...)
				dst = appendJSONStringList(dst, sj.Filters, true)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendIndexJSON(dst []byte, ij *indexJSON) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, ij.Name, true)
	dst = append(dst, `,"id":`...)
	dst = strconv.AppendUint(dst, uint64(ij.ID), 10)
	if len(ij.Fields) > 0 {
		dst = append(dst, `,"fields":`...)
		dst = appendJSONStringList(dst, ij.Fields, true)
	}
	if ij.Unique {
		dst = append(dst, `,"unique":true`...)
	}
	if ij.AggID != 0 {
		dst = append(dst, `,"aggregate":`...)
		dst = strconv.AppendUint(dst, uint64(ij.AggID), 10)
	}
	if len(ij.Sums) > 0 {
		dst = append(dst, `,"sums":`...)
		dst = appendJSONStringList(dst, ij.Sums, true)
	}
	if ij.VectorField != "" {
		dst = append(dst, `,"vectorField":`...)
		dst = appendJSONString(dst, ij.VectorField, true)
	}
	if ij.Dimensions != 0 {
		dst = append(dst, `,"dimensions":`...)
		dst = strconv.AppendInt(dst, int64(ij.Dimensions), 10)
	}
	return append(dst, '}')
}

// appendJSONBytes appends b as json.Marshal writes a []byte: null, or a
// string of its standard base64 encoding.
func appendJSONBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendJSONRaw appends raw as json.Marshal writes a json.RawMessage:
// compacted, with <, >, &, U+2028 and U+2029 escaped. Invalid JSON is an
// error.
func appendJSONRaw(dst, raw []byte) ([]byte, error) {
	if isMarshaledRaw(raw) {
		return append(dst, raw...), nil // as Compact and HTMLEscape give it back (catalog_fast.go)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(dst)
	json.HTMLEscape(out, compact.Bytes())
	return out.Bytes(), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes a string: ",
// \ and control characters escaped (\b, \f, \n, \r, \t by name, the
// others as \u00XX), invalid UTF-8 replaced by \ufffd, U+2028 and U+2029
// escaped, and when escapeHTML is set, <, > and & escaped as \u003c,
// \u003e and \u0026 (json.Marshal sets it; an Encoder can turn it off).
func appendJSONString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	done := 0 // s[:done] is in dst
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"')
}

// decodeCatalogJSON fills cj from b as json.Unmarshal(b, cj) does: the
// same result for the same input, and an error where it gives one. Keys
// match a field exactly or else ignoring case, unknown keys are skipped, a
// repeated key is decoded again over the first value, and null leaves a
// field as it is (a list: nil).
func decodeCatalogJSON(b []byte, cj *catalogJSON) error {
	if !json.Valid(b) {
		// json.Unmarshal's error names the syntax problem.
		return json.Unmarshal(b, new(json.RawMessage))
	}
	return decodeObject(bytes.TrimSpace(b), "catalog", func(key string, val []byte) error {
		switch {
		case fieldIs(key, "version"):
			return json.Unmarshal(val, &cj.Version)
		case fieldIs(key, "nextTable"):
			return json.Unmarshal(val, &cj.NextTable)
		case fieldIs(key, "nextIndex"):
			return json.Unmarshal(val, &cj.NextIndex)
		case fieldIs(key, "secret"):
			return json.Unmarshal(val, &cj.Secret)
		case fieldIs(key, "schema"):
			cj.Schema = append(cj.Schema[:0], val...)
			return nil
		case fieldIs(key, "tables"):
			return decodeArray(val, "tables", &cj.Tables, decodeTableJSON)
		}
		return nil
	})
}

func decodeTableJSON(b []byte, tj *tableJSON) error {
	return decodeObject(b, "table", func(key string, val []byte) error {
		switch {
		case fieldIs(key, "name"):
			return json.Unmarshal(val, &tj.Name)
		case fieldIs(key, "number"):
			return json.Unmarshal(val, &tj.Number)
		case fieldIs(key, "indexes"):
			return decodeArray(val, "indexes", &tj.Indexes, decodeIndexJSON)
		case fieldIs(key, "search"):
			return decodeArray(val, "search", &tj.Search, decodeSearchJSON)
		}
		return nil
	})
}

func decodeIndexJSON(b []byte, ij *indexJSON) error {
	return decodeObject(b, "index", func(key string, val []byte) error {
		switch {
		case fieldIs(key, "name"):
			return json.Unmarshal(val, &ij.Name)
		case fieldIs(key, "id"):
			return json.Unmarshal(val, &ij.ID)
		case fieldIs(key, "fields"):
			return json.Unmarshal(val, &ij.Fields)
		case fieldIs(key, "unique"):
			return json.Unmarshal(val, &ij.Unique)
		case fieldIs(key, "aggregate"):
			return json.Unmarshal(val, &ij.AggID)
		case fieldIs(key, "sums"):
			return json.Unmarshal(val, &ij.Sums)
		case fieldIs(key, "vectorField"):
			return json.Unmarshal(val, &ij.VectorField)
		case fieldIs(key, "dimensions"):
			return json.Unmarshal(val, &ij.Dimensions)
		}
		return nil
	})
}

func decodeSearchJSON(b []byte, sj *searchJSON) error {
	return decodeObject(b, "search index", func(key string, val []byte) error {
		switch {
		case fieldIs(key, "name"):
			return json.Unmarshal(val, &sj.Name)
		case fieldIs(key, "id"):
			return json.Unmarshal(val, &sj.ID)
		case fieldIs(key, "field"):
			return json.Unmarshal(val, &sj.Field)
		case fieldIs(key, "filters"):
			return json.Unmarshal(val, &sj.Filters)
		}
		return nil
	})
}

// fieldIs reports whether a key names the field of JSON name name, as
// encoding/json matches them: exactly, or else ignoring case.
func fieldIs(key, name string) bool { return key == name || strings.EqualFold(key, name) }

// errNotObject and errNotArray are the decoder's type errors, where
// json.Unmarshal gives an *json.UnmarshalTypeError.
var (
	errNotObject = errors.New("not an object")
	errNotArray  = errors.New("not an array")
)

// decodeObject calls field with every key of the object b (valid JSON,
// with no space around it), in order, and the raw bytes of its value. null
// is skipped, as json.Unmarshal leaves a struct unchanged on null; any
// other value that is not an object is an error naming what.
func decodeObject(b []byte, what string, field func(key string, val []byte) error) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%s: %w", what, errNotObject)
	}
	i := skipSpace(b, 1)
	if b[i] == '}' {
		return nil
	}
	for {
		end := skipValue(b, i)
		key, err := jsonKey(b[i:end])
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end = skipValue(b, i)
		if err := field(key, b[i:end]); err != nil {
			return fmt.Errorf("%s: %q: %w", what, key, err)
		}
		i = skipSpace(b, end)
		if b[i] == '}' {
			return nil
		}
		i = skipSpace(b, i+1) // past the comma
	}
}

// decodeArray decodes the array b (valid JSON) into *list as json.Unmarshal
// decodes into a slice: null makes it nil; otherwise element i is decoded
// over the element i of the list's backing array where its capacity has
// one (elem sets only the fields it finds), and the list is cut or grown
// to the array's length.
func decodeArray[T any](b []byte, what string, list *[]T, elem func([]byte, *T) error) error {
	if string(b) == "null" {
		*list = nil
		return nil
	}
	if len(b) == 0 || b[0] != '[' {
		return fmt.Errorf("%s: %w", what, errNotArray)
	}
	out := (*list)[:0]
	i := skipSpace(b, 1)
	n := 0
	for ; b[i] != ']'; n++ {
		end := skipValue(b, i)
		if n < cap(out) {
			out = out[:n+1]
		} else {
			var zero T
			out = append(out, zero)
		}
		if err := elem(b[i:end], &out[n]); err != nil {
			*list = out
			return fmt.Errorf("%s[%d]: %w", what, n, err)
		}
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if n == 0 {
		out = []T{} // json.Unmarshal makes an empty array a new empty slice
	}
	*list = out
	return nil
}

// jsonKey returns the string of the JSON string literal q.
func jsonKey(q []byte) (string, error) {
	if len(q) >= 2 && q[0] == '"' {
		plain := true
		for _, c := range q[1 : len(q)-1] {
			if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			return string(q[1 : len(q)-1]), nil
		}
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

// skipSpace returns the index of the first byte of b at or after i that is
// not JSON white space (len(b) if none).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value that begins at b[i]; b is
// valid JSON (json.Valid), so every value is whole.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipValue(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default: // a number, true, false or null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}
