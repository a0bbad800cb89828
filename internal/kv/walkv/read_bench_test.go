package walkv_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// The read benchmarks compare walkv's read path with bboltkv's on the same
// keys (kvtest.Fill's 100,000), in the overlay states a reader meets:
//
//   - bbolt: bboltkv alone, the reference;
//   - empty: walkv with everything checkpointed (no overlay layer);
//   - overlay: 30,000 newer keys after the read ones in the active layer,
//     which no read of the benchmark can see (as the tail of a bulk load
//     is to reads of older documents);
//   - checkpoint: the same keys in a frozen layer whose checkpoint is held
//     after its bbolt transaction by the hook, and 1,000 more keys in the
//     active layer above it.
const (
	readKeys    = 100_000
	overlayKeys = 30_000
)

// readStates lists the benchmark's stores, each opened by its function.
var readStates = []struct {
	name string
	open func(b *testing.B) kv.Store
}{
	{"bbolt", func(b *testing.B) kv.Store {
		s, err := bboltkv.Open(filepath.Join(b.TempDir(), "bench.db"), &bboltkv.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		kvtest.Fill(b, s, readKeys)
		return s
	}},
	{"empty", func(b *testing.B) kv.Store { return openRead(b, 0, 0, false) }},
	{"overlay", func(b *testing.B) kv.Store { return openRead(b, overlayKeys, 0, false) }},
	{"checkpoint", func(b *testing.B) kv.Store { return openRead(b, overlayKeys, 1000, true) }},
}

// openRead returns a walkv store holding readKeys checkpointed keys, then
// frozen newer keys (held in a running checkpoint when hold is set, else
// left in the active layer) and active more keys in the active layer.
func openRead(b *testing.B, frozen, active int, hold bool) kv.Store {
	b.Helper()
	s, err := walkv.Open(filepath.Join(b.TempDir(), "bench.db"), &walkv.Options{NoSync: true, CheckpointAge: time.Hour, CheckpointBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	kvtest.Fill(b, s, readKeys)
	if err := s.Checkpoint(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() }) // after the held checkpoint's release
	fillFrom(b, s, readKeys, frozen)
	if hold {
		holdCheckpoint(b, s)
	}
	fillFrom(b, s, readKeys+frozen, active)
	return s
}

// fillFrom commits n keys of kvtest.Fill's key space from the first'th on,
// with 100-byte values, in batches of 1000.
func fillFrom(b *testing.B, s kv.Store, first, n int) {
	b.Helper()
	val := make([]byte, 100)
	var batch kv.Batch
	for i := first; i < first+n; i += 1000 {
		batch.Reset()
		for j := i; j < min(first+n, i+1000); j++ {
			batch.Put(binary.BigEndian.AppendUint64([]byte("tbl/"), uint64(j)), val)
		}
		if err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead_SnapshotGet(b *testing.B) {
	for _, st := range readStates {
		b.Run(st.name, func(b *testing.B) { kvtest.BenchSnapshotGet(b, st.open(b), readKeys) })
	}
}

func BenchmarkRead_Snapshot(b *testing.B) {
	for _, st := range readStates {
		b.Run(st.name, func(b *testing.B) { kvtest.BenchSnapshot(b, st.open(b)) })
	}
}

func BenchmarkRead_Iterator(b *testing.B) {
	for _, st := range readStates {
		b.Run(st.name, func(b *testing.B) { kvtest.BenchIterator(b, st.open(b), readKeys, false) })
	}
}

// BenchmarkRead_PointQuery measures what a point query costs the store: a
// snapshot, one Get of a random key, and its release.
func BenchmarkRead_PointQuery(b *testing.B) {
	for _, st := range readStates {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			b.ReportAllocs()
			i := uint64(0)
			key := []byte("tbl/")
			for b.Loop() {
				i = i*2862933555777941757 + 3037000493
				key = binary.BigEndian.AppendUint64(key[:4], i%readKeys)
				kvtest.PointGet(b, s, key)
			}
		})
	}
}
