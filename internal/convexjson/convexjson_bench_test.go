package convexjson_test

import (
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/convexjson"
)

// agentSession is a typical document of an agent-workflow table: 431 bytes
// of Convex-JSON.
func agentSession() map[string]any {
	return map[string]any{
		"workflowId": "wf_01HF3Z8Q2KJ7",
		"status":     "running",
		"agentType":  "researcher",
		"startedAt":  1699931054642.5,
		"input":      strings.Repeat("Summarise the design notes and list open questions. ", 4)[:185],
		"output":     strings.Repeat("Draft: the index keeps keys in order; ", 4)[:119],
	}
}

func BenchmarkEncode(b *testing.B) {
	doc := agentSession()
	enc, err := convexjson.Encode(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := convexjson.Encode(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, err := convexjson.Encode(agentSession())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := convexjson.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeExport(b *testing.B) {
	doc := agentSession()
	enc, err := convexjson.EncodeExport(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := convexjson.EncodeExport(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeExport(b *testing.B) {
	enc, err := convexjson.EncodeExport(agentSession())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := convexjson.DecodeExport(enc); err != nil {
			b.Fatal(err)
		}
	}
}
