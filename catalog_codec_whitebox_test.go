package livedb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// catalogCodecStrings are strings whose JSON form has every escape
// encoding/json writes.
var catalogCodecStrings = []string{
	"", "tasks", "by_workflow_and_status", "a.b.c", `quote " and \ backslash`,
	"<html> & </html>", "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"bad utf8 \xff\xfe end", "truncated \xe2\x80", "line sep \u2028 para sep \u2029",
	"ünïcödé 日本 😀", "\u2027\u202a",
}

// randomCatalogJSON returns a catalogJSON with random contents, with nil
// and empty lists and zero and set fields mixed.
func randomCatalogJSON(r *rand.Rand) catalogJSON {
	str := func() string {
		if r.IntN(3) == 0 {
			return catalogCodecStrings[r.IntN(len(catalogCodecStrings))]
		}
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	strs := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+r.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	cj := catalogJSON{Version: r.IntN(10) - 2, NextTable: r.Uint32(), NextIndex: r.Uint32()}
	switch r.IntN(3) {
	case 1:
		cj.Secret = []byte{}
	case 2:
		cj.Secret = make([]byte, r.IntN(40))
		for i := range cj.Secret {
			cj.Secret[i] = byte(r.IntN(256))
		}
	}
	schemas := []string{"", `{"tables":[],"schemaValidation":true}`, ` { "a" : [1, 2.5e3, "<&>", "\u2028"] , "b":null } `, `"x"`}
	if s := schemas[r.IntN(len(schemas))]; s != "" {
		cj.Schema = json.RawMessage(s)
	}
	if r.IntN(4) > 0 {
		cj.Tables = []tableJSON{}
	}
	for range r.IntN(3) {
		tj := tableJSON{Name: str(), Number: r.Uint32()}
		if r.IntN(4) > 0 {
			tj.Indexes = []indexJSON{}
		}
		for range r.IntN(4) {
			ij := indexJSON{Name: str(), ID: r.Uint32(), Fields: strs(), Unique: r.IntN(2) == 0, Sums: strs()}
			if r.IntN(2) == 0 {
				ij.AggID = r.Uint32()
			}
			if r.IntN(2) == 0 {
				ij.VectorField, ij.Dimensions = str(), r.IntN(4096)-1
			}
			tj.Indexes = append(tj.Indexes, ij)
		}
		switch r.IntN(3) {
		case 1:
			tj.Search = []searchJSON{}
		case 2:
			tj.Search = []searchJSON{{Name: str(), ID: r.Uint32(), Field: str(), Filters: strs()}}
		}
		cj.Tables = append(cj.Tables, tj)
	}
	return cj
}

func TestCatalogCodec_Append_MatchesJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 4))
	for i := range 3000 {
		cj := randomCatalogJSON(r)
		want, err := json.Marshal(cj)
		if err != nil {
			t.Fatalf("case %d: json.Marshal: %v", i, err)
		}
		got, err := appendCatalogJSON([]byte("prefix"), &cj)
		if err != nil {
			t.Fatalf("case %d: appendCatalogJSON: %v", i, err)
		}
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("case %d: appendCatalogJSON wrote\n%s\njson.Marshal writes\n%s", i, got[len("prefix"):], want)
		}
	}
}

// appendJSONRaw appends a schema as json.Marshal embeds a json.RawMessage,
// also when the schema is already compact (its fast path, isMarshaledRaw)
// but holds what json.Marshal escapes.
func TestCatalogCodec_AppendJSONRaw_MatchesJSONMarshal(t *testing.T) {
	var raws []string
	for _, s := range catalogCodecStrings {
		// The string as raw JSON text, <, >, & and U+2028 left as they are
		// (only the bytes a JSON string cannot hold dropped).
		q := []byte{'"'}
		for _, c := range []byte(s) {
			if c >= 0x20 && c != '"' && c != '\\' {
				q = append(q, c)
			}
		}
		q = append(q, '"')
		raws = append(raws, string(q), `{"k":`+string(q)+`}`, `{ "k" : [ `+string(q)+` , 1 ] }`)
	}
	raws = append(raws, `{"a":1}`, `[1,2.5e3,true,null]`, `{"a":"<"}`, `{"a":"\u2028"}`, "{\"a\":\"\u2028\"}", `{"a":`, `{} x`, ``)
	for _, raw := range raws {
		want, werr := json.Marshal(json.RawMessage(raw))
		got, gerr := appendJSONRaw([]byte("p"), []byte(raw))
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%q: appendJSONRaw error %v, json.Marshal error %v", raw, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got[1:], want) {
			t.Fatalf("%q: appendJSONRaw wrote %s, json.Marshal writes %s", raw, got[1:], want)
		}
	}
}

func TestCatalogCodec_Append_BadSchemaIsError(t *testing.T) {
	cj := catalogJSON{Schema: json.RawMessage(`{"a":`)}
	if _, err := json.Marshal(cj); err == nil {
		t.Fatal("json.Marshal accepted a damaged schema: the test's premise is wrong")
	}
	if b, err := appendCatalogJSON(nil, &cj); err == nil {
		t.Fatalf("appendCatalogJSON wrote %s for a damaged schema, want an error", b)
	}
}

func TestCatalogCodec_AppendString_MatchesJSON(t *testing.T) {
	for _, s := range catalogCodecStrings {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s, true); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q, true) = %s, json.Marshal writes %s", s, got, want)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		want = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := appendJSONString(nil, s, false); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q, false) = %s, an Encoder without HTML escaping writes %s", s, got, want)
		}
	}
}

// checkDecodeLikeUnmarshal fails t unless decodeCatalogJSON and
// json.Unmarshal agree on b: both fail, or both give the same catalogJSON.
// Each decodes over a copy of the same starting value.
func checkDecodeLikeUnmarshal(t *testing.T, b []byte) {
	t.Helper()
	var want, got catalogJSON
	werr := json.Unmarshal(b, &want)
	gerr := decodeCatalogJSON(b, &got)
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("input %q: json.Unmarshal error %v, decodeCatalogJSON error %v", b, werr, gerr)
	case werr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("input %q:\ndecodeCatalogJSON gives %#v\njson.Unmarshal gives    %#v", b, got, want)
	}
}

// catalogDecodeInputs are stored-catalog inputs on the edges of
// json.Unmarshal's rules.
var catalogDecodeInputs = []string{
	`{"version":4,"nextTable":10002,"nextIndex":3,"secret":"AAECAwQFBgcICQoLDA0ODw==","tables":[{"name":"t","number":10001,"indexes":[{"name":"by_id","id":1},{"name":"by_creation_time","id":2}]}]}`,
	` {"VERSION":4, "NextTable" : 7 ,"nexttable":8} `,
	`{"version":4,"version":5}`,
	`{"tables":[{"name":"a","number":1},{"name":"b"}],"tables":[{"name":"c"}]}`,
	`{"tables":[{"name":"a","number":1},{"name":"b","number":2}],"tables":[],"tables":[{"name":"c"}]}`,
	`{"tables":[{"name":"a","number":1},{"name":"b","number":2}],"tables":[{"name":"c"}],"tables":[{},{}]}`,
	`{"tables":[null,{"indexes":null,"search":[]}]}`,
	`{"tables":null}`, `{"tables":[]}`, `{"secret":null}`, `{"secret":""}`, `{"secret":"not base64!"}`,
	`{"schema":null}`, `{"schema":{ "a" : [ 1 ] }}`, `{"schema":"s","schema":[true]}`,
	`{"unknown":{"deep":[1,{"x":"}"}]},"version":3}`,
	`{"version":"4"}`, `{"version":4.5}`, `{"nextTable":-1}`, `{"nextTable":4294967296}`, `{"version":1e2}`,
	`{"tables":{}}`, `{"tables":[1]}`, `{"tables":[{"indexes":[{"fields":"x"}]}]}`,
	`{"tables":[{"indexes":[{"unique":1}]}]}`, `{"tables":[{"search":[{"filters":[1]}]}]}`,
	`{"tables":[{"name":"esc \u00e9 \ud83d\ude00 \ud800 \"q\""}]}`, "{\"tables\":[{\"name\":\"bad \xff utf8\"}]}",
	"{\"na\xffme\":1}", `{"n\u0061me":1,"ver\u0073ion":2}`, `{"ſecret":"AA=="}`, `{"tables":[{"K":1,"name":"x","Name":"y"}]}`,
	`null`, `[]`, `"x"`, `4`, `true`, ``, `{`, `{"version":4,}`, `{"version":4} x`, `{"a":1}{"b":2}`,
	`{"tables":[{"indexes":[{"name":"i","id":1,"fields":["a","b"],"unique":true,"aggregate":9,"sums":["s"],"vectorField":"v","dimensions":3}]}]}`,
}

func TestCatalogCodec_Decode_MatchesJSONUnmarshal(t *testing.T) {
	for _, in := range catalogDecodeInputs {
		checkDecodeLikeUnmarshal(t, []byte(in))
	}
	r := rand.New(rand.NewPCG(19, 5))
	for range 2000 {
		cj := randomCatalogJSON(r)
		b, err := json.Marshal(cj)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeLikeUnmarshal(t, b)
		var got catalogJSON
		if err := decodeCatalogJSON(b, &got); err != nil {
			t.Fatalf("decodeCatalogJSON(%s): %v", b, err)
		}
		// Invalid UTF-8 comes back as U+FFFD, so the bytes are compared
		// with json.Marshal's of the decoded value, not with b.
		want, _ := json.Marshal(got)
		again, err := appendCatalogJSON(nil, &got)
		if err != nil || !bytes.Equal(again, want) {
			t.Fatalf("%s decoded and written again gives %s, json.Marshal writes %s (error %v)", b, again, want, err)
		}
	}
}

func FuzzCatalogCodec_Decode(f *testing.F) {
	for _, in := range catalogDecodeInputs {
		f.Add([]byte(in))
	}
	r := rand.New(rand.NewPCG(19, 6))
	for range 20 {
		cj := randomCatalogJSON(r)
		b, _ := json.Marshal(cj)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeLikeUnmarshal(t, b)
	})
}

func FuzzCatalogCodec_AppendString(f *testing.F) {
	for _, s := range catalogCodecStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s, true); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, json.Marshal writes %s", s, got, want)
		}
	})
}

// TestCatalogCodec_EveryField fills every field of the catalog's structs
// by reflection, so that a field added to them later and not to
// catalog_codec.go is caught: written by the hand codec it must read back
// through encoding/json, and json.Marshal's form must read back through
// the hand decoder, each to the same value.
func TestCatalogCodec_EveryField(t *testing.T) {
	var cj catalogJSON
	fillEveryField(t, reflect.ValueOf(&cj).Elem(), 1)
	if cj.Schema == nil {
		t.Fatal("fillEveryField left the schema empty")
	}

	b, err := appendCatalogJSON(nil, &cj)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON catalogJSON
	if err := json.Unmarshal(b, &viaJSON); err != nil {
		t.Fatalf("json.Unmarshal of appendCatalogJSON's %s: %v", b, err)
	}
	if !reflect.DeepEqual(viaJSON, cj) {
		t.Errorf("appendCatalogJSON lost a field:\nwrote %s\nread back %+v\nwant %+v", b, viaJSON, cj)
	}

	m, err := json.Marshal(cj)
	if err != nil {
		t.Fatal(err)
	}
	var viaCodec catalogJSON
	if err := decodeCatalogJSON(m, &viaCodec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaCodec, cj) {
		t.Errorf("decodeCatalogJSON lost a field of %s:\ngot %+v\nwant %+v", m, viaCodec, cj)
	}
}

// fillEveryField sets every field of v, recursively, to a value that is
// not its zero value (n makes the values of one call differ).
func fillEveryField(t *testing.T, v reflect.Value, n int) {
	t.Helper()
	if v.Type() == reflect.TypeFor[json.RawMessage]() {
		v.SetBytes([]byte(`{"tables":[]}`))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillEveryField(t, v.Field(i), n+i)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillEveryField(t, s.Index(i), n*10+i)
		}
		v.Set(s)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint8, reflect.Uint32:
		v.SetUint(uint64(n % 200))
	default:
		t.Fatalf("fillEveryField: no value for a field of kind %s (%s): teach it, and catalog_codec.go", v.Kind(), v.Type())
	}
}
