package value_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

func TestDecodeDocument_IDField(t *testing.T) {
	doc := map[string]any{
		"_id":           "abc",
		"_creationTime": 1.5,
		"nested":        map[string]any{"_id": "inner"},
		"list":          []any{"x", int64(2)},
	}
	got, err := value.DecodeDocument(value.Encode(doc))
	if err != nil {
		t.Fatalf("DecodeDocument: %v", err)
	}
	if id, ok := got["_id"].(value.ID); !ok || id != "abc" {
		t.Errorf("_id = %#v, want value.ID(\"abc\")", got["_id"])
	}
	if inner, ok := got["nested"].(map[string]any)["_id"].(string); !ok || inner != "inner" {
		t.Errorf("nested _id = %#v, want the string \"inner\"", got["nested"])
	}
	if !value.Equal(got, doc) {
		t.Errorf("DecodeDocument = %#v, want %#v", got, doc)
	}
}

func TestDecodeDocument_Errors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not an object", value.Encode([]any{int64(1)})},
		{"string", value.Encode("x")},
		{"trailing bytes", append(value.Encode(map[string]any{"a": nil}), 0x01)},
		{"truncated _id", value.Encode(map[string]any{"_id": "abcdef"})[:6]},
		{"fields out of order", []byte{0x09, 0x02, 0x01, 'b', 0x01, 0x01, 'a', 0x01}},
		{"_id not UTF-8", []byte{0x09, 0x01, 0x03, '_', 'i', 'd', 0x06, 0x01, 0xFF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := value.DecodeDocument(tc.in)
			if !errors.Is(err, value.ErrMalformedEncoding) {
				t.Errorf("DecodeDocument(%x) = %#v, %v; want an error wrapping ErrMalformedEncoding", tc.in, got, err)
			}
		})
	}
}

// FuzzDecodeDocument checks DecodeDocument against Decode: the same
// inputs are accepted (objects only), with the same value, and _id, when a
// string, comes back as an ID.
func FuzzDecodeDocument(f *testing.F) {
	f.Add(value.Encode(map[string]any{"_id": "x", "_creationTime": 1.0, "a": []any{map[string]any{"_id": "y"}}}))
	f.Add(value.Encode(map[string]any{"_id": int64(3)}))
	f.Add(value.Encode(map[string]any{}))
	f.Add([]byte{0x09, 0x01, 0x03, '_', 'i', 'd', 0x06, 0x05, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := value.DecodeDocument(data)
		x, xerr := value.Decode(data)
		_, isObject := x.(map[string]any)
		if (err == nil) != (xerr == nil && isObject) {
			t.Fatalf("DecodeDocument(%x) error %v, Decode %#v, %v", data, err, x, xerr)
		}
		if err != nil {
			return
		}
		if !value.Equal(doc, x) {
			t.Fatalf("DecodeDocument(%x) = %#v, Decode = %#v", data, doc, x)
		}
		if s, ok := x.(map[string]any)["_id"].(string); ok {
			if id, ok := doc["_id"].(value.ID); !ok || string(id) != s {
				t.Fatalf("DecodeDocument(%x): _id %#v, want ID(%q)", data, doc["_id"], s)
			}
		}
		if re := value.Encode(doc); !bytes.Equal(re, data) {
			t.Fatalf("DecodeDocument(%x) re-encodes as %x", data, re)
		}
	})
}

func TestAppendStringKey_SameAsAppendKey(t *testing.T) {
	for _, s := range []string{"", "a", "run\x00x", "\x00", "é\xff", "j57c0000000000000000000000000000"} {
		want := value.AppendKey([]byte{0x01}, s)
		if got := value.AppendStringKey([]byte{0x01}, s); !bytes.Equal(got, want) {
			t.Errorf("AppendStringKey(%q) = %x, want %x", s, got, want)
		}
	}
}

// TrailingString reads back a NUL-free string from the end of a key built
// by AppendKey, and refuses keys that do not end that way.
func TestTrailingString(t *testing.T) {
	const s = "j57c0000000000000000000000000000"
	key := value.AppendKey(value.AppendKey([]byte{0x01, 0x02}, 1.5), s)
	got, sk, ok := value.TrailingString(key, len(s))
	if !ok || string(got) != s || !bytes.Equal(sk, value.AppendKey(nil, s)) {
		t.Fatalf("TrailingString = %q, %x, %v; want %q", got, sk, ok, s)
	}
	for _, tc := range []struct {
		name string
		key  []byte
		n    int
	}{
		{"wrong length", key, len(s) - 1},
		{"too short", key[:10], len(s)},
		{"no terminator", key[:len(key)-1], len(s) - 1},
		{"not a string", value.AppendKey(nil, int64(7)), 0},
		{"escaped NUL inside", value.AppendKey(nil, "ab\x00cd"), 6},
		{"negative length", key, -1},
	} {
		if got, _, ok := value.TrailingString(tc.key, tc.n); ok {
			t.Errorf("%s: TrailingString = %q, want a refusal", tc.name, got)
		}
	}
}
