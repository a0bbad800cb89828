package livedb

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/livedb-go/livedb/v"
)

// checkFastLikeUnmarshal fails t when decodeCatalogCanonical accepts b but
// b is not valid JSON or json.Unmarshal decodes it to something else. It
// reports whether the fast path accepted b.
func checkFastLikeUnmarshal(t *testing.T, b []byte) bool {
	t.Helper()
	var got catalogJSON
	if !decodeCatalogCanonical(b, &got) {
		return false
	}
	var want catalogJSON
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("input %q: decodeCatalogCanonical accepts it, json.Unmarshal fails: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q:\ndecodeCatalogCanonical gives %#v\njson.Unmarshal gives       %#v", b, got, want)
	}
	return true
}

// plainCatalogJSON is a catalog with every field set and strings that need
// no escape, as a database of tables with unique, aggregate, vector and
// search indexes stores it.
func plainCatalogJSON() catalogJSON {
	return catalogJSON{
		Version: catalogVersion, NextTable: 10003, NextIndex: 14, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Schema: json.RawMessage(`{"tables":[{"tableName":"t","indexes":[{"indexDescriptor":"by_a","fields":["a"]}]}],"schemaValidation":true,"n":[0,-1.5e+3,true,false,null,"\u003c\"é"]}`),
		Tables: []tableJSON{
			{Name: "t", Number: 10001, Indexes: []indexJSON{
				{Name: "by_id", ID: 1}, {Name: "by_creation_time", ID: 2},
				{Name: "by_a", ID: 3, Fields: []string{"a", "b.c"}, Unique: true, AggID: 4, Sums: []string{"x"}},
				{Name: "by_vec", ID: 5, Fields: []string{"kind"}, VectorField: "embedding", Dimensions: 1536},
			}, Search: []searchJSON{{Name: "search_body", ID: 6, Field: "body", Filters: []string{"kind", "ünï"}}}},
			{Name: "u", Number: 10002, Indexes: []indexJSON{{Name: "by_id", ID: 7}, {Name: "by_creation_time", ID: 8}}},
			{Name: "w", Number: 10004, Indexes: []indexJSON{}, Search: []searchJSON{{Name: "s", ID: 9, Field: "f", Filters: []string{}}}},
			{Name: "x", Number: 10005},
		},
	}
}

func TestCatalogFast_Decode_AcceptsWhatLivedbWrites(t *testing.T) {
	for _, cj := range []catalogJSON{plainCatalogJSON(), {Version: catalogVersion, Secret: []byte{}, Tables: []tableJSON{}}, {}} {
		b, err := appendCatalogJSON(nil, &cj)
		if err != nil {
			t.Fatal(err)
		}
		if !checkFastLikeUnmarshal(t, b) {
			t.Fatalf("decodeCatalogCanonical refuses what appendCatalogJSON writes: %s", b)
		}
	}
}

// TestCatalogFast_Decode_AcceptsStoredCatalogs opens databases whose
// schemas use every kind of index and reads their stored catalog with the
// fast path.
func TestCatalogFast_Decode_AcceptsStoredCatalogs(t *testing.T) {
	fields := v.Fields{"a": v.String(), "b": v.Optional(v.Int64()), "body": v.String(), "kind": v.String(), "embedding": v.Array(v.Float64())}
	schemas := []*Schema{
		DefineSchema(nil),
		DefineSchema(Tables{"agentSessions": DefineTable(v.Object(v.Fields{"workflowId": v.String(), "status": v.Union(v.Literal("running"), v.Literal("<done> & \u2028"))})).
			Index("by_workflow", "workflowId").Index("by_workflow_and_status", "workflowId", "status")}),
		DefineSchema(Tables{
			"t": DefineTable(v.Object(fields)).Index("by_a", "a").Unique().Index("by_kind_a", "kind", "a").Aggregate("b").
				SearchIndex("search_body", "body", "kind").VectorIndex("by_embedding", "embedding", 3, "kind"),
			"u": DefineTable(v.Any()),
		}),
	}
	for i, s := range schemas {
		db, err := OpenMemory(s)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := db.store.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		b, ok, err := snap.Get(keyCatalog)
		if err != nil || !ok {
			t.Fatalf("schema %d: catalog ok=%v err=%v", i, ok, err)
		}
		b = bytes.Clone(b)
		snap.Release()
		if !checkFastLikeUnmarshal(t, b) {
			t.Errorf("schema %d: the stored catalog is not read by the fast path: %s", i, b)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCatalogFast_Decode_NeverDiffersFromUnmarshal checks the fast path on
// the general decoder's edge cases, random catalogs, and every one-byte
// change, cut and insertion of a canonical catalog: when it accepts, it
// agrees with json.Unmarshal.
func TestCatalogFast_Decode_NeverDiffersFromUnmarshal(t *testing.T) {
	for _, in := range catalogDecodeInputs {
		checkFastLikeUnmarshal(t, []byte(in))
	}
	r := rand.New(rand.NewPCG(19, 7))
	accepted := 0
	for range 2000 {
		cj := randomCatalogJSON(r)
		b, err := json.Marshal(cj)
		if err != nil {
			t.Fatal(err)
		}
		if checkFastLikeUnmarshal(t, b) {
			accepted++
		}
	}
	if accepted == 0 {
		t.Error("the fast path accepted none of 2,000 random catalogs")
	}
	cj := plainCatalogJSON()
	b, err := appendCatalogJSON(nil, &cj)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		checkFastLikeUnmarshal(t, b[:i])
		checkFastLikeUnmarshal(t, append(bytes.Clone(b[:i]), b[i+1:]...))
		for _, c := range []byte{' ', '"', '\\', ',', '0', '9', '-', '.', 'e', '{', '}', '[', ']', 'n', 'A', '=', 0x00, 0x1f, 0xff, 0xc3} {
			m := bytes.Clone(b)
			m[i] = c
			checkFastLikeUnmarshal(t, m)
			checkFastLikeUnmarshal(t, append(append(bytes.Clone(b[:i]), c), b[i:]...))
		}
	}
}

func FuzzCatalogFast_Decode(f *testing.F) {
	for _, in := range catalogDecodeInputs {
		f.Add([]byte(in))
	}
	cj := plainCatalogJSON()
	b, _ := appendCatalogJSON(nil, &cj)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFastLikeUnmarshal(t, b)
	})
}

// checkCompactJSON fails t when isCompactJSON(b) or needsHTMLEscape(b)
// disagree with encoding/json: isCompactJSON only for valid JSON that
// json.Compact leaves as it is, and always for such JSON that is not
// nested deeper than the fast path follows; needsHTMLEscape exactly when
// json.HTMLEscape changes b.
func checkCompactJSON(t *testing.T, b []byte) {
	t.Helper()
	var c bytes.Buffer
	want := json.Valid(b) && json.Compact(&c, b) == nil && bytes.Equal(c.Bytes(), b)
	got := isCompactJSON(b)
	if got && !want {
		t.Fatalf("isCompactJSON(%q) = true; json.Valid %v, json.Compact gives %q", b, json.Valid(b), c.Bytes())
	}
	if want && !got && bytes.Count(b, []byte("[")) < maxFastJSONDepth/2 && bytes.Count(b, []byte("{")) < maxFastJSONDepth/2 {
		t.Fatalf("isCompactJSON(%q) = false for compact JSON", b)
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, b)
	if esc := !bytes.Equal(h.Bytes(), b); needsHTMLEscape(b) != esc {
		t.Fatalf("needsHTMLEscape(%q) = %v, json.HTMLEscape changes it: %v", b, !esc, esc)
	}
}

var compactJSONInputs = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5`, `-12e+3`, `1E-7`, `true`, `false`, `null`,
	`{"a":[1,{"b":null}],"c":"\"\\\/\b\f\n\r\t\u00e9\uD83D"}`, `{"tables":[],"schemaValidation":true}`,
	`{ "a":1}`, `{"a" :1}`, `[1 ]`, " 1", "1 ", `01`, `1.`, `.5`, `1e`, `-`, `+1`, `1.5e+`, `[1,]`, `{"a":1,}`,
	`{"a"}`, `{1:2}`, `[1 2]`, `"\x"`, `"\u12g4"`, `"\u123"`, "\"\x01\"", "\"\xff\xfe\"", `"a`, `tru`, `nulll`,
	`{"a":1}{"b":2}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, `<`, `"<>&"`, `"&"`, `">"`, `["a<"]`, "\"\u2028\u2029\"", "\"\u2029\"", "\"\xe2\x80\"",
}

func TestCatalogFast_CompactJSON_MatchesEncodingJSON(t *testing.T) {
	for _, in := range compactJSONInputs {
		checkCompactJSON(t, []byte(in))
	}
	deep := bytes.Repeat([]byte("["), maxFastJSONDepth+2)
	deep = append(deep, bytes.Repeat([]byte("]"), maxFastJSONDepth+2)...)
	if isCompactJSON(deep) {
		t.Errorf("isCompactJSON follows nesting deeper than %d", maxFastJSONDepth)
	}
}

func FuzzCatalogFast_CompactJSON(f *testing.F) {
	for _, in := range compactJSONInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCompactJSON(t, b)
	})
}
