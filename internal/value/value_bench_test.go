package value_test

import (
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

// benchIndexTuple is a typical index entry: by_workflow_and_status is
// (workflowId, status, _creationTime, _id).
var benchIndexTuple = []any{
	value.ID("k57000820c20a1g7104gm2rc1m70ynr8"),
	"running",
	1699931054642.111,
	value.ID("j57000820c20a1g7104gm2rc1m70ynr8"),
}

// benchSessionDoc is an agent-session document of about 430 bytes.
func benchSessionDoc() map[string]any {
	return map[string]any{
		"_id":           "j57000820c20a1g7104gm2rc1m70ynr8",
		"_creationTime": 1699931054642.111,
		"workflowId":    "k57000820c20a1g7104gm2rc1m70ynr8",
		"status":        "running",
		"agentType":     "coder",
		"startedAt":     1699931054700.5,
		"input":         strings.Repeat("Implement the pagination cursor for the agent list. ", 4)[:200],
		"output":        strings.Repeat("Wrote cursor.go and its tests; all pass. ", 4)[:150],
	}
}

func BenchmarkAppendKey(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 128)
	for b.Loop() {
		buf = buf[:0]
		for _, x := range benchIndexTuple {
			buf = value.AppendKey(buf, x)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeKey(b *testing.B) {
	b.ReportAllocs()
	k := value.Key(benchIndexTuple...)
	b.SetBytes(int64(len(k)))
	for b.Loop() {
		rest := k
		for len(rest) > 0 {
			var err error
			if _, rest, err = value.DecodeKey(rest); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	doc := benchSessionDoc()
	b.SetBytes(int64(len(value.Encode(doc))))
	for b.Loop() {
		value.Encode(doc)
	}
}

func BenchmarkAppendEncoded(b *testing.B) {
	b.ReportAllocs()
	doc := benchSessionDoc()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = value.AppendEncoded(buf[:0], doc)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	enc := value.Encode(benchSessionDoc())
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := value.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	b.ReportAllocs()
	// Values are boxed once, outside the loops, so that only Compare counts.
	doc := benchSessionDoc()
	doc["output"] = doc["output"].(string) + "!"
	var x, y any = benchSessionDoc(), doc
	other := append([]any{}, benchIndexTuple...)
	other[3] = value.ID("j57000820c20a1g7104gm2rc1m70ynr9")
	var t1, t2 any = benchIndexTuple, other
	b.Run("tuple", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			value.Compare(t1, t2)
		}
	})
	b.Run("document", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			value.Compare(x, y)
		}
	})
}

func BenchmarkCheckDocument(b *testing.B) {
	b.ReportAllocs()
	doc := benchSessionDoc()
	for b.Loop() {
		if err := value.CheckDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSize(b *testing.B) {
	b.ReportAllocs()
	doc := benchSessionDoc()
	for b.Loop() {
		value.DocumentSize(doc)
	}
}
