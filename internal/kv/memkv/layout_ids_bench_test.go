package memkv_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// benchWorkflowIDs returns the IDs of benchWorkflows workflows as livedb
// makes them (internal/id.New): created in one mutation over a few
// milliseconds, so that their text shares its first 11 or 12 characters
// (the table number and the time), as the W4 dataset's do. The index
// entries of (workflowId, status) then share 17 bytes or more with their
// neighbours: the shape of keys that BenchmarkLayout_WorkflowIDs reads.
func benchWorkflowIDs() []string {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([]string, benchWorkflows)
	for i := range out {
		var internal [16]byte
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], uint64(1_780_000_000_000+i/400))
		copy(internal[:6], t[2:])
		binary.BigEndian.PutUint64(internal[6:14], rng.Uint64())
		binary.BigEndian.PutUint16(internal[14:], 20600)
		out[i] = id.Encode(10001, internal)
	}
	return out
}

// fillDocsIDs is fillDocs with the workflows of benchWorkflowIDs: docs
// documents, 100 a commit.
func fillDocsIDs(tb testing.TB, s kv.Store, docs int, wfs []string) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b kv.Batch
	doc := make([]byte, 200)
	for i := range docs {
		d := newBenchDoc(rng, i)
		d.workflow = wfs[i%len(wfs)]
		for j, k := range d.keys(uint64(i/100 + 1)) {
			if j == 0 {
				b.Put(k, doc)
			} else {
				b.Put(k, nil)
			}
		}
		if len(b.Ops) >= 400 || i == docs-1 {
			if err := s.Commit(&b); err != nil {
				tb.Fatalf("fill: commit: %v", err)
			}
			b.Reset()
		}
	}
}

// BenchmarkLayout_WorkflowIDs is BenchmarkLayout_Workflow with workflow
// IDs as livedb makes them (benchWorkflowIDs): the first 10 running
// entries of a random workflow, whose keys share long prefixes.
func BenchmarkLayout_WorkflowIDs(b *testing.B) {
	wfs := benchWorkflowIDs()
	for _, docs := range []int{33_000, 133_000} {
		b.Run(fmt.Sprintf("keys=%dk", docs*3/1000), func(b *testing.B) {
			s := memkv.New()
			defer s.Close()
			fillDocsIDs(b, s, docs, wfs)
			benchRunning(b, s, wfs)
		})
	}
}

// BenchmarkLayout_FillIDs measures the writes of fillDocsIDs: 33k
// documents (100k keys) committed 100 at a time into an empty store; an
// op is the whole fill.
func BenchmarkLayout_FillIDs(b *testing.B) {
	wfs := benchWorkflowIDs()
	const docs = 33_000
	b.ReportAllocs()
	m := startCPU(b)
	for b.Loop() {
		s := memkv.New()
		fillDocsIDs(b, s, docs, wfs)
		s.Close()
	}
	m.stop(b)
}
