package livedb

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// encodeUnescaped is what appendSchemaExportJSON must write: out by a
// json.Encoder without HTML escaping, without its final newline.
func encodeUnescaped(out *schemaExportJSON) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// randomSchemaExportJSON returns a schemaExportJSON with random contents:
// nil and empty lists, nil and set pointers, odd strings and raw JSON.
func randomSchemaExportJSON(r *rand.Rand) schemaExportJSON {
	str := func() string { return catalogCodecStrings[r.IntN(len(catalogCodecStrings))] }
	strPtr := func() *string {
		if r.IntN(4) == 0 {
			return nil
		}
		s := str()
		return &s
	}
	strs := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		return []string{str(), str()}
	}
	strsPtr := func() *[]string {
		if r.IntN(4) == 0 {
			return nil
		}
		ss := strs()
		return &ss
	}
	raws := []json.RawMessage{nil, json.RawMessage(`{ "type" : "string" }`), json.RawMessage(`{"type":"literal","value":"<a & b>\u2028"}`), json.RawMessage(" [1, 2.50, null] ")}
	rawList := func() []json.RawMessage {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []json.RawMessage{}
		}
		return []json.RawMessage{raws[1+r.IntN(len(raws)-1)], raws[1+r.IntN(len(raws)-1)]}
	}
	indexes := func() []schemaIndexJSON {
		if r.IntN(4) == 0 {
			return nil
		}
		out := make([]schemaIndexJSON, r.IntN(3))
		for i := range out {
			out[i] = schemaIndexJSON{IndexDescriptor: strPtr(), Fields: strsPtr(), Unique: r.IntN(2) == 0, Aggregate: r.IntN(2) == 0, Sums: strs()}
		}
		return out
	}
	out := schemaExportJSON{SchemaValidation: r.IntN(2) == 0}
	if r.IntN(5) > 0 {
		out.Tables = []schemaTableJSON{}
	}
	for range r.IntN(3) {
		t := schemaTableJSON{TableName: str(), Indexes: indexes(), StagedDbIndexes: indexes(),
			StagedSearchIndexes: rawList(), VectorIndexes: rawList(), StagedVectorIndexes: rawList(), DocumentType: raws[r.IntN(len(raws))]}
		if r.IntN(4) > 0 {
			t.SearchIndexes = []schemaSearchJSON{}
			for range r.IntN(3) {
				t.SearchIndexes = append(t.SearchIndexes, schemaSearchJSON{IndexDescriptor: strPtr(), SearchField: strPtr(), FilterFields: strsPtr()})
			}
		}
		out.Tables = append(out.Tables, t)
	}
	return out
}

func TestSchemaJSON_Append_MatchesEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 7))
	for i := range 3000 {
		out := randomSchemaExportJSON(r)
		want, err := encodeUnescaped(&out)
		if err != nil {
			t.Fatalf("case %d: Encoder: %v", i, err)
		}
		got, err := appendSchemaExportJSON([]byte("prefix"), &out)
		if err != nil {
			t.Fatalf("case %d: appendSchemaExportJSON: %v", i, err)
		}
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("case %d: appendSchemaExportJSON wrote\n%s\nthe Encoder writes\n%s", i, got[len("prefix"):], want)
		}
	}
}

func TestSchemaJSON_Append_BadRawIsError(t *testing.T) {
	for _, raw := range []json.RawMessage{{}, json.RawMessage(`{"a":`)} {
		out := schemaExportJSON{Tables: []schemaTableJSON{{TableName: "t", DocumentType: raw}}}
		if _, err := encodeUnescaped(&out); err == nil {
			t.Fatalf("the Encoder accepted documentType %q: the test's premise is wrong", raw)
		}
		if b, err := appendSchemaExportJSON(nil, &out); err == nil {
			t.Errorf("appendSchemaExportJSON wrote %s for documentType %q, want an error", b, raw)
		}
	}
}
