package v

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/livedb-go/livedb/internal/convexjson"
)

// This file reads and writes Convex's ValidatorJSON, the `.json` of a Convex
// validator and the "documentType" of a table in schema.export():
//
//	{"type":"null"} {"type":"number"} {"type":"bigint"} {"type":"boolean"}
//	{"type":"string"} {"type":"bytes"} {"type":"any"}
//	{"type":"id","tableName":"users"}
//	{"type":"literal","value":"x"}            (value in Convex's JSON)
//	{"type":"array","value":<validator>}
//	{"type":"object","value":{"a":{"fieldType":<validator>,"optional":false}}}
//	{"type":"record","keys":<validator>,"values":{"fieldType":<validator>,"optional":false}}
//	{"type":"union","value":[<validator>,...]}

// maxJSONDepth bounds the nesting of validators FromJSON accepts. Convex's
// server parses schemas with serde_json, whose recursion limit of 128 JSON
// levels allows no deeper validator.
const maxJSONDepth = 128

// marshal returns val's ValidatorJSON.
func marshal(val Validator) ([]byte, error) {
	if err := Err(val); err != nil {
		return nil, err
	}
	return appendJSON(nil, val)
}

// appendJSON appends val's ValidatorJSON to dst, members in Convex's order.
func appendJSON(dst []byte, val Validator) ([]byte, error) {
	var err error
	switch t := val.(type) {
	case *scalarValidator:
		dst = append(dst, `{"type":"`...)
		dst = append(dst, scalarNames[t.kind].json...)
		dst = append(dst, `"}`...)
	case *IDValidator:
		dst = append(dst, `{"type":"id","tableName":`...)
		dst = appendJSONString(dst, t.table)
		dst = append(dst, '}')
	case *LiteralValidator:
		dst = append(dst, `{"type":"literal","value":`...)
		dst = appendLiteralJSON(dst, t.value)
		dst = append(dst, '}')
	case *ArrayValidator:
		dst = append(dst, `{"type":"array","value":`...)
		if dst, err = appendJSON(dst, t.elem); err != nil {
			return nil, err
		}
		dst = append(dst, '}')
	case *ObjectValidator:
		dst = append(dst, `{"type":"object","value":{`...)
		for i, f := range t.fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f.name)
			dst = append(dst, ':')
			if dst, err = appendFieldJSON(dst, f.val, f.optional); err != nil {
				return nil, err
			}
		}
		dst = append(dst, "}}"...)
	case *RecordValidator:
		dst = append(dst, `{"type":"record","keys":`...)
		if dst, err = appendJSON(dst, t.keys); err != nil {
			return nil, err
		}
		dst = append(dst, `,"values":`...)
		if dst, err = appendFieldJSON(dst, t.values, false); err != nil {
			return nil, err
		}
		dst = append(dst, '}')
	case *UnionValidator:
		dst = append(dst, `{"type":"union","value":[`...)
		for i, m := range t.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSON(dst, m); err != nil {
				return nil, err
			}
		}
		dst = append(dst, "]}"...)
	case *OptionalValidator:
		return appendJSON(dst, t.inner)
	default:
		b, err := val.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return nil, fmt.Errorf("livedb: validator %s: MarshalJSON: %w", describe(val), err)
		}
		dst = append(dst, buf.Bytes()...)
	}
	return dst, nil
}

// appendFieldJSON appends {"fieldType":<val>,"optional":<optional>}.
func appendFieldJSON(dst []byte, val Validator, optional bool) ([]byte, error) {
	dst = append(dst, `{"fieldType":`...)
	dst, err := appendJSON(dst, val)
	if err != nil {
		return nil, err
	}
	dst = append(dst, `,"optional":`...)
	dst = strconv.AppendBool(dst, optional)
	return append(dst, '}'), nil
}

// appendLiteralJSON appends a literal in Convex's JSON, as convexToJson
// writes it.
func appendLiteralJSON(dst []byte, x any) []byte {
	b, err := convexjson.Encode(x)
	if err != nil { // not reached: literals are checked when built
		return append(dst, "null"...)
	}
	return append(dst, b...)
}

// appendJSONString appends s as a JSON string, escaping as JSON.stringify
// and serde_json do.
func appendJSONString(dst []byte, s string) []byte {
	return convexjson.AppendString(dst, s)
}

// FromJSON parses Convex's ValidatorJSON, such as the "documentType" of a
// table in the output of Convex's schema.export(), into a validator; the
// result's MarshalJSON gives the JSON back (with object fields in sorted
// order).
//
// Parsing is strict: the input must be one JSON value; every validator needs
// a known "type" (an unknown one is an error that names it) and exactly the
// members of its type (an unknown member is an error); object field names
// must be identifiers; an object field or record values need both
// "fieldType" and a boolean "optional"; Convex's record rules apply (keys a
// subset of v.string() without literals, values not optional); a literal is
// a string, a boolean, a JSON number (a Float64) or a one-member object
// {"$integer":"<base64>"} (an Int64) or {"$float":"<base64>"} (NaN, ±Inf or
// -0). A field with "optional":true yields [Optional] of its validator. The
// legacy types "map" and "set" read as v.any(), as Convex's server reads
// them. Validators may nest at most 128 deep.
//
// Every error is a [*DefinitionError] (so it matches [ErrInvalidValidator])
// whose Path locates the problem, such as ".messages[element].author".
func FromJSON(b []byte) (Validator, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, &DefinitionError{Reason: "ValidatorJSON is not valid JSON", Err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, defError("ValidatorJSON has data after the validator")
	}
	p := jsonParser{}
	return p.validator(raw, "")
}

// jsonMembers lists, per validator type, the members it has besides "type".
var jsonMembers = map[string][]string{
	"null": nil, "number": nil, "bigint": nil, "boolean": nil, "string": nil, "bytes": nil, "any": nil,
	"id": {"tableName"}, "literal": {"value"}, "array": {"value"}, "object": {"value"},
	"record": {"keys", "values"}, "union": {"value"},
}

// jsonParser turns decoded JSON into validators.
type jsonParser struct {
	depth int
}

func jsonFail(path, format string, args ...any) error {
	return &DefinitionError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// jsonKind names the type of a decoded JSON value for error messages.
func jsonKind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// validator parses one ValidatorJSON object found at path.
func (p *jsonParser) validator(raw any, path string) (Validator, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxJSONDepth {
		return nil, jsonFail(path, "validators are nested more than %d deep", maxJSONDepth)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, jsonFail(path, "expected a validator object, found %s", jsonKind(raw))
	}
	typ, ok := obj["type"].(string)
	if !ok {
		if _, has := obj["type"]; has {
			return nil, jsonFail(path, `"type" must be a string, found %s`, jsonKind(obj["type"]))
		}
		return nil, jsonFail(path, `missing "type"`)
	}
	if typ == "map" || typ == "set" {
		return Any(), nil
	}
	want, known := jsonMembers[typ]
	if !known {
		return nil, jsonFail(path, "unknown validator type %q", typ)
	}
	if err := checkMembers(obj, path, typ, want); err != nil {
		return nil, err
	}
	var val Validator
	switch typ {
	case "null":
		val = Null()
	case "number":
		val = Float64()
	case "bigint":
		val = Int64()
	case "boolean":
		val = Boolean()
	case "string":
		val = String()
	case "bytes":
		val = Bytes()
	case "any":
		val = Any()
	case "id":
		table, ok := obj["tableName"].(string)
		if !ok {
			return nil, jsonFail(path, `"tableName" must be a string, found %s`, jsonKind(obj["tableName"]))
		}
		val = ID(table)
	case "literal":
		lit, err := literalFromJSON(obj["value"])
		if err != nil {
			return nil, &DefinitionError{Path: path, Reason: "invalid literal", Err: err}
		}
		val = Literal(lit)
	case "array":
		el, err := p.validator(obj["value"], path+"[element]")
		if err != nil {
			return nil, err
		}
		val = Array(el)
	case "object":
		return p.object(obj["value"], path)
	case "record":
		keys, err := p.validator(obj["keys"], path+".keys()")
		if err != nil {
			return nil, err
		}
		values, err := p.field(obj["values"], path+".values()")
		if err != nil {
			return nil, err
		}
		val = Record(keys, values)
	case "union":
		list, ok := obj["value"].([]any)
		if !ok {
			return nil, jsonFail(path, `the "value" of a union must be an array, found %s`, jsonKind(obj["value"]))
		}
		ms := make([]Validator, len(list))
		for i, m := range list {
			var err error
			if ms[i], err = p.validator(m, fmt.Sprintf("%s[member %d]", path, i)); err != nil {
				return nil, err
			}
		}
		val = Union(ms...)
	}
	if err := Err(val); err != nil {
		return nil, nestDefError(path, err)
	}
	return val, nil
}

// checkMembers checks that obj has exactly "type" and the members in want.
func checkMembers(obj map[string]any, path, typ string, want []string) error {
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			return jsonFail(path, "a %q validator needs %q", typ, k)
		}
	}
	if k, ok := unknownMember(obj, func(k string) bool { return k == "type" || slices.Contains(want, k) }); ok {
		return jsonFail(path, "unknown member %q in a %q validator", k, typ)
	}
	return nil
}

// unknownMember returns the smallest member name of obj that known rejects.
func unknownMember(obj map[string]any, known func(string) bool) (string, bool) {
	first, found := "", false
	for k := range obj {
		if !known(k) && (!found || k < first) {
			first, found = k, true
		}
	}
	return first, found
}

// object parses the "value" of an object validator.
func (p *jsonParser) object(raw any, path string) (Validator, error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, jsonFail(path, `the "value" of an object must be an object, found %s`, jsonKind(raw))
	}
	fields := make(Fields, len(obj))
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		if prob := identifierProblem(name); prob != "" {
			return nil, jsonFail(path, "field name %q is not a valid identifier: %s", name, prob)
		}
		f, err := p.field(obj[name], path+"."+name)
		if err != nil {
			return nil, err
		}
		fields[name] = f
	}
	o := Object(fields)
	if err := Err(o); err != nil {
		return nil, nestDefError(path, err)
	}
	return o, nil
}

// field parses {"fieldType":<validator>,"optional":<bool>}, returning the
// validator wrapped in Optional when the flag is set.
func (p *jsonParser) field(raw any, path string) (Validator, error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, jsonFail(path, "expected {\"fieldType\":...,\"optional\":...}, found %s", jsonKind(raw))
	}
	for _, k := range []string{"fieldType", "optional"} {
		if _, ok := obj[k]; !ok {
			return nil, jsonFail(path, "missing %q", k)
		}
	}
	if k, ok := unknownMember(obj, func(k string) bool { return k == "fieldType" || k == "optional" }); ok {
		return nil, jsonFail(path, "unknown member %q in a field type", k)
	}
	optional, ok := obj["optional"].(bool)
	if !ok {
		return nil, jsonFail(path, `"optional" must be a boolean, found %s`, jsonKind(obj["optional"]))
	}
	val, err := p.validator(obj["fieldType"], path)
	if err != nil {
		return nil, err
	}
	if optional {
		return Optional(val), nil
	}
	return val, nil
}

// literalFromJSON decodes the "value" of a literal validator, in Convex's
// JSON, into a string, bool, float64 or int64.
func literalFromJSON(raw any) (any, error) {
	b, err := json.Marshal(raw) // json.Number keeps the number's text
	if err != nil {
		return nil, err
	}
	x, err := convexjson.Decode(b)
	if err != nil {
		return nil, err
	}
	switch x.(type) {
	case string, bool, int64, float64:
		return x, nil
	}
	return nil, fmt.Errorf("a literal must be a string, number, boolean or $integer, not %s", jsonKind(raw))
}
