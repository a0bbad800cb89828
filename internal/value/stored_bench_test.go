package value_test

import (
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

// BenchmarkDecodeStoredDocument decodes the session of BenchmarkDecode
// (the object form, _id and _creationTime among its fields) in its
// stored form, its _id given as the key gives it.
func BenchmarkDecodeStoredDocument(b *testing.B) {
	b.ReportAllocs()
	doc := benchSessionDoc()
	enc, err := value.EncodeStoredDocument(doc)
	if err != nil {
		b.Fatal(err)
	}
	id := []byte(doc["_id"].(string))
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := value.DecodeStoredDocument(enc, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeStoredDocument encodes an agent session in its stored
// form (BenchmarkEncode: the object form).
func BenchmarkEncodeStoredDocument(b *testing.B) {
	b.ReportAllocs()
	doc := benchSessionDoc()
	for b.Loop() {
		if _, err := value.EncodeStoredDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
}
