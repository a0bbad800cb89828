package walkv_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// BenchmarkStoreCommit measures Commit of batches of new keys into the
// overlay, unsynced (the log's fdatasync would hide the overlay's cost),
// with no checkpoint while it runs: the active layer grows to every key
// the benchmark writes. With snapshots, a snapshot is opened and released
// after every commit, as a reader between commits does.
func BenchmarkStoreCommit(b *testing.B) {
	for _, n := range []int{1, 100} {
		for _, snaps := range []bool{false, true} {
			b.Run(fmt.Sprintf("keys=%d/snapshots=%v", n, snaps), func(b *testing.B) {
				s, err := walkv.Open(filepath.Join(b.TempDir(), "bench.db"), &walkv.Options{NoSync: true, CheckpointAge: time.Hour, CheckpointBytes: 1 << 40})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = s.Close() })
				if !snaps {
					kvtest.BenchCommit(b, s, n)
					return
				}
				kvtest.BenchCommit(b, &snapshotting{s}, n)
			})
		}
	}
}

// snapshotting opens and releases a snapshot after every commit.
type snapshotting struct{ *walkv.Store }

func (s *snapshotting) Commit(b *kv.Batch) error {
	if err := s.Store.Commit(b); err != nil {
		return err
	}
	sn, err := s.Snapshot()
	if err != nil {
		return err
	}
	sn.Release()
	return nil
}
