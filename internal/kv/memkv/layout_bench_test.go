package memkv_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/internal/value"
)

// The benchmarks of this file measure the tree's layout (the descent, the
// in-order walk, the nodes a commit copies) on keys shaped like livedb's
// (keys.go, idkey.go): a document's by_id key is the tag 0x01, the index id
// and its 16-byte internal id (a millisecond time, then random bytes); an
// index entry is the tag, the index id, the sort keys of its fields and of
// _creationTime, then the internal id. Every document writes its by_id key
// and two index entries, and every commit a change record and the last
// timestamp: a commit of one document writes five keys, as livedb's does.
//
// Besides the wall time, each reports cpu-ns/op, the CPU time of its
// thread: on a machine shared with other work, the time it ran.

// Index ids of the benchmark's keyspace.
const (
	benchByID      = 10
	benchByWFStat  = 11 // (workflowId, status)
	benchByTime    = 12 // _creationTime
	benchWorkflows = 1000
)

// benchDoc is the key material of one benchmark document.
type benchDoc struct {
	internal [16]byte
	workflow string
	status   string
	created  float64
}

// newBenchDoc returns document number i: created one per 20 µs, its
// workflow i mod benchWorkflows, running or completed.
func newBenchDoc(rng *rand.Rand, i int) benchDoc {
	var d benchDoc
	ms := uint64(1_780_000_000_000 + i/50)
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], ms)
	copy(d.internal[:6], t[2:])
	binary.BigEndian.PutUint64(d.internal[6:14], rng.Uint64())
	binary.BigEndian.PutUint16(d.internal[14:], 20600)
	d.workflow = fmt.Sprintf("wf-%04d", i%benchWorkflows)
	d.status = "running"
	if i%3 == 0 {
		d.status = "completed"
	}
	d.created = float64(ms) + float64(i%50)/50
	return d
}

// benchPrefix appends the tag and index id of an index key to k.
func benchPrefix(k []byte, index uint32) []byte {
	return binary.BigEndian.AppendUint32(append(k, 0x01), index)
}

// byIDKey returns d's by_id key.
func (d benchDoc) byIDKey() []byte {
	return append(benchPrefix(nil, benchByID), d.internal[:]...)
}

// workflowPrefix returns the prefix of the (workflowId, status) entries of
// one workflow and status: the interval of a W4 query.
func workflowPrefix(workflow, status string) []byte {
	k := benchPrefix(nil, benchByWFStat)
	k = value.AppendKey(k, workflow)
	return value.AppendKey(k, status)
}

// keys returns the keys that inserting d writes, as the commit number
// seq: by_id, its two index entries and a change record.
func (d benchDoc) keys(seq uint64) [][]byte {
	wf := append(workflowPrefix(d.workflow, d.status), value.AppendKey(nil, d.created)...)
	tm := value.AppendKey(benchPrefix(nil, benchByTime), d.created)
	ch := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64([]byte{0x02}, seq), 0)
	return [][]byte{d.byIDKey(), append(wf, d.internal[:]...), append(tm, d.internal[:]...), ch}
}

// fillDocs commits docs documents to s, 100 a commit (three keys each, and
// one change record a commit), and returns them.
func fillDocs(tb testing.TB, s kv.Store, docs int) []benchDoc {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]benchDoc, docs)
	var b kv.Batch
	doc := make([]byte, 200)
	for i := range out {
		out[i] = newBenchDoc(rng, i)
		for j, k := range out[i].keys(uint64(i/100 + 1)) {
			if j == 0 {
				b.Put(k, doc)
			} else {
				b.Put(k, nil)
			}
		}
		if len(b.Ops) >= 400 || i == len(out)-1 {
			if err := s.Commit(&b); err != nil {
				tb.Fatalf("fill: commit: %v", err)
			}
			b.Reset()
		}
	}
	return out
}

// BenchmarkLayout_Seek measures a descent: an iterator seeks a random
// document's by_id key and reads it (three keys per document).
func BenchmarkLayout_Seek(b *testing.B) {
	for _, docs := range []int{33_000, 133_000} {
		b.Run(fmt.Sprintf("keys=%dk", docs*3/1000), func(b *testing.B) {
			s := memkv.New()
			defer s.Close()
			all := fillDocs(b, s, docs)
			keys := make([][]byte, len(all))
			for i, d := range all {
				keys[i] = d.byIDKey()
			}
			rng := rand.New(rand.NewPCG(3, 4))
			rs := benchSnapshot(b, s)
			m := startCPU(b)
			b.ResetTimer()
			for b.Loop() {
				k := keys[rng.IntN(len(keys))]
				it := rs.IterOnce(k, nil, false)
				if !it.Next() {
					b.Fatalf("seek %x: no entry", k)
				}
				it.Close()
			}
			m.stop(b)
		})
	}
}

// BenchmarkLayout_Workflow measures a W4-shaped read: the first 10 entries
// of one workflow's running sessions, workflows taken at random.
func BenchmarkLayout_Workflow(b *testing.B) {
	for _, docs := range []int{33_000, 133_000} {
		b.Run(fmt.Sprintf("keys=%dk", docs*3/1000), func(b *testing.B) {
			s := memkv.New()
			defer s.Close()
			fillDocs(b, s, docs)
			names := make([]string, benchWorkflows)
			for i := range names {
				names[i] = fmt.Sprintf("wf-%04d", i)
			}
			benchRunning(b, s, names)
		})
	}
}

// benchRunning reads, b.N times, the first 10 running entries of a
// workflow of names taken at random (the keys workflowPrefix makes), and
// fails when one has fewer.
func benchRunning(b *testing.B, s *memkv.Store, names []string) {
	rng := rand.New(rand.NewPCG(3, 4))
	bounds := make([][2][]byte, len(names))
	for i, wf := range names {
		p := workflowPrefix(wf, "running")
		end := append(append([]byte(nil), p...), 0xFF)
		bounds[i] = [2][]byte{p, end}
	}
	rs := benchSnapshot(b, s)
	m := startCPU(b)
	b.ResetTimer()
	for b.Loop() {
		bd := bounds[rng.IntN(len(bounds))]
		it := rs.IterOnce(bd[0], bd[1], false)
		n := 0
		for n < 10 && it.Next() {
			n++
		}
		if n != 10 {
			b.Fatalf("workflow %q: %d entries, want 10", bd[0], n)
		}
		it.Close()
	}
	m.stop(b)
}

// BenchmarkLayout_Commit measures the commit of one document (five keys:
// by_id, two index entries, a change record, the last timestamp) into a
// store of 133k documents (400k keys): the nodes copied on the path of
// every key.
func BenchmarkLayout_Commit(b *testing.B) {
	s := memkv.New()
	defer s.Close()
	const docs = 133_000
	fillDocs(b, s, docs)
	rng := rand.New(rand.NewPCG(5, 6))
	doc := make([]byte, 200)
	var bt kv.Batch
	b.ReportAllocs()
	m := startCPU(b)
	b.ResetTimer()
	i := docs
	for b.Loop() {
		bt.Reset()
		d := newBenchDoc(rng, i)
		for j, k := range d.keys(uint64(i)) {
			if j == 0 {
				bt.Put(k, doc)
			} else {
				bt.Put(k, nil)
			}
		}
		bt.Put([]byte{0x03}, doc[:16])
		if err := s.Commit(&bt); err != nil {
			b.Fatal(err)
		}
		i++
	}
	m.stop(b)
}

// benchSnapshot returns a snapshot of s for a benchmark's reads, released
// when the benchmark ends.
func benchSnapshot(b *testing.B, s *memkv.Store) kv.ReuseSnapshot {
	b.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sn.Release)
	return sn.(kv.ReuseSnapshot)
}
