package value_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

// storedDocs are documents of every kind of field the stored form must
// give back: field names that sort before and after the system fields'
// ("Zed", "a"), an _id inside a nested object (kept as a string), every
// value type, and no user field at all.
var storedDocs = []map[string]any{
	{"_id": "k57abc", "_creationTime": 1.5},
	{"_id": "k57abc", "_creationTime": 1712345678901.125, "Zed": "first", "a": int64(-3), "z": []any{"x", nil, true},
		"nested": map[string]any{"_id": "inner", "_creationTime": 2.0}, "b": []byte{0, 1}, "u": value.Undefined,
		"f": math.Copysign(0, -1), "nan": math.Float64frombits(0x7ff8000000000123), "e": map[string]any{}},
}

// The stored form gives the document back, with its _id (an ID) from the
// key, whether the caller has it as a string or as bytes; decoding it and
// encoding the result gives the same bytes.
func TestDecodeStoredDocument_RoundTrip(t *testing.T) {
	for i, doc := range storedDocs {
		enc, err := value.EncodeStoredDocument(doc)
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		for _, got := range []func() (map[string]any, error){
			func() (map[string]any, error) { return value.DecodeStoredDocument(enc, "k57abc") },
			func() (map[string]any, error) { return value.DecodeStoredDocument(enc, []byte("k57abc")) },
		} {
			m, err := got()
			if err != nil {
				t.Fatalf("doc %d: %v", i, err)
			}
			if id, ok := m["_id"].(value.ID); !ok || id != "k57abc" {
				t.Fatalf("doc %d: _id = %#v, want the ID k57abc", i, m["_id"])
			}
			if !value.Equal(m, doc) || len(m) != len(doc) {
				t.Fatalf("doc %d: decoded %v, want %v", i, value.Format(m), value.Format(doc))
			}
			again, err := value.EncodeStoredDocument(m)
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("doc %d: re-encoded % x (%v), want % x", i, again, err, enc)
			}
		}
	}
}

// A document's stored form leaves out what its key gives (the _id) and
// the names of the system fields: 53 bytes less than the object form for
// a 32-character _id.
func TestEncodeStoredDocument_Size(t *testing.T) {
	doc := map[string]any{"_id": "k5714tyygf6y1sxdgmrxw7dxsd7w6h3c", "_creationTime": 1712345678901.0,
		"workflowId": "w1", "status": "running", "startedAt": int64(17)}
	enc, err := value.EncodeStoredDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(value.Encode(doc))-len(enc), 53; got != want {
		t.Fatalf("stored form is %d bytes smaller than the object form, want %d", got, want)
	}
}

func TestEncodeStoredDocument_NoCreationTime(t *testing.T) {
	for _, doc := range []map[string]any{
		{"_id": "k1", "a": "x"},
		{"_id": "k1", "_creationTime": int64(5)},
	} {
		if enc, err := value.EncodeStoredDocument(doc); err == nil {
			t.Errorf("EncodeStoredDocument(%v) = % x, want an error", doc, enc)
		}
	}
}

func TestDecodeStoredDocument_Errors(t *testing.T) {
	good, err := value.EncodeStoredDocument(map[string]any{"_creationTime": 1.0, "a": "x"})
	if err != nil {
		t.Fatal(err)
	}
	header := good[:9]
	with := func(b ...byte) []byte { return append(bytes.Clone(header), b...) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"object form", value.Encode(map[string]any{"_id": "k1", "_creationTime": 1.0})},
		{"header cut", good[:5]},
		{"no field count", header},
		{"trailing bytes", append(bytes.Clone(good), 0x01)},
		{"count beyond the input", with(0x05, 0x01, 'a', 0x01)},
		{"fields out of order", with(0x02, 0x01, 'b', 0x01, 0x01, 'a', 0x01)},
		{"a field named _id", with(0x01, 0x03, '_', 'i', 'd', 0x06, 0x01, 'x')},
		{"a field named _creationTime", with(0x01, 0x0D, '_', 'c', 'r', 'e', 'a', 't', 'i', 'o', 'n', 'T', 'i', 'm', 'e', 0x05, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F)},
		{"name not UTF-8", with(0x01, 0x01, 0xFF, 0x01)},
		{"value missing", with(0x01, 0x01, 'a')},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := value.DecodeStoredDocument(tc.in, "k1")
			if !errors.Is(err, value.ErrMalformedEncoding) {
				t.Errorf("DecodeStoredDocument(% x) = %#v, %v; want an error wrapping ErrMalformedEncoding", tc.in, got, err)
			}
			r, err := value.NewFieldReader(tc.in, "k1")
			for err == nil {
				var more bool
				if _, more, err = r.Next(); err == nil && !more {
					err = r.End()
					break
				}
				if err == nil {
					err = r.Skip()
				}
			}
			if !errors.Is(err, value.ErrMalformedEncoding) {
				t.Errorf("FieldReader over % x: %v; want an error wrapping ErrMalformedEncoding", tc.in, err)
			}
		})
	}
}

// The decoded document shares nothing with the bytes or the _id given.
func TestDecodeStoredDocument_SharesNothing(t *testing.T) {
	enc, err := value.EncodeStoredDocument(map[string]any{"_creationTime": 1.0, "s": "abc", "b": []byte("xy")})
	if err != nil {
		t.Fatal(err)
	}
	id := []byte("k1")
	m, err := value.DecodeStoredDocument(enc, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] = 0xFF
	}
	id[0] = 'z'
	if m["_id"] != value.ID("k1") || m["s"] != "abc" || string(m["b"].([]byte)) != "xy" {
		t.Fatalf("the document changed with its bytes: %#v", m)
	}
}

// FuzzDecodeStoredDocument: any bytes either fail to decode, with
// ErrMalformedEncoding and no panic, or decode to a document whose stored
// form is exactly those bytes (one spelling per document), with the _id
// given.
func FuzzDecodeStoredDocument(f *testing.F) {
	for _, doc := range storedDocs {
		enc, err := value.EncodeStoredDocument(doc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{0x0B})
	f.Add(value.Encode(map[string]any{"_id": "k1", "_creationTime": 1.0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := value.DecodeStoredDocument(b, "k1")
		if err != nil {
			if !errors.Is(err, value.ErrMalformedEncoding) {
				t.Fatalf("error %v does not wrap ErrMalformedEncoding", err)
			}
			return
		}
		if m["_id"] != value.ID("k1") {
			t.Fatalf("_id = %#v", m["_id"])
		}
		again, err := value.EncodeStoredDocument(m)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %v re-encodes to % x (%v), not % x", value.Format(m), again, err, b)
		}
	})
}
