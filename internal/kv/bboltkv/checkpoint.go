package bboltkv

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/internal/kv"
)

// MetaBucketName is the bbolt bucket, beside [BucketName], where a store
// kept behind a write-ahead log (package walkv) records the last log
// record its synced state holds. Snapshots never see it.
const MetaBucketName = "livedb-meta"

// checkpointKey is the key in MetaBucketName of that sequence number (8
// bytes, big-endian).
var checkpointKey = []byte("checkpoint")

// CommitCheckpoint is Commit that also records seq, in the same bbolt
// transaction, as the sequence number of the last write-ahead log record
// the file now holds (see [Store.CheckpointSeq]). It commits even an empty
// batch, and returns the errors Commit returns.
func (s *Store) CommitCheckpoint(b *kv.Batch, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if b == nil {
		b = &kv.Batch{}
	}
	return s.commit(b, func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists([]byte(MetaBucketName))
		if err != nil {
			return err
		}
		return mb.Put(checkpointKey, binary.BigEndian.AppendUint64(nil, seq))
	})
}

// CheckpointSeq returns the sequence number that the last CommitCheckpoint
// recorded, 0 when none did.
func (s *Store) CheckpointSeq() (seq uint64, err error) {
	if s.closed.Load() {
		return 0, kv.ErrClosed
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			seq, err = 0, panicError(s.path, "read the checkpoint", r)
		}
	}()
	err = s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket([]byte(MetaBucketName))
		if mb == nil {
			return nil
		}
		v := mb.Get(checkpointKey)
		if v == nil {
			return nil
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: the checkpoint sequence number is %d bytes, want 8", ErrCorrupt, len(v))
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	if err != nil {
		return 0, pathError("read the checkpoint of", s.path, err)
	}
	return seq, nil
}
