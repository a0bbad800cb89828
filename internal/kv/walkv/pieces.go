package walkv

import (
	"github.com/google/btree"

	"github.com/livedb-go/livedb/internal/kv"
)

// A checkpoint in pieces.
//
// bbolt copies every page a transaction writes and frees the old copy,
// which only a later transaction can reuse. A checkpoint written as one
// transaction therefore leaves, at its end, as many free pages as it
// rewrote; when a checkpoint's writes are spread over an index (one key
// per workflow of a large table, say), that is a large share of the
// index, and since bbolt never shrinks its file, the free pages of the
// last big checkpoint stay in the file for good (about a tenth of a
// 1M-document file, which grew by them at every size it passed).
//
// So a checkpoint writes its frozen layer in pieces of at most
// CheckpointPieceOps keys, in key order, each piece its own (synced)
// bbolt transaction; only the last one records the checkpoint's sequence
// number. Each piece reuses the pages the one before it freed, and the
// free pages left at the end are one piece's worth. As the pieces follow
// key order, a page is written by one piece only (but for the pages a
// piece boundary cuts and the branch pages above them), so the pieces
// write about the pages one transaction would.
//
// Between two pieces, bbolt holds part of the frozen layer under the
// previous checkpoint's sequence number. That state is never read alone:
// the frozen layer stays in every snapshot's view until the last piece is
// in, and it masks every key the pieces wrote; after a crash, Open replays
// the log after the recorded sequence number, which holds every write of
// the frozen layer, so the overlay masks them again (applying a record to
// a state that already holds it changes nothing).

// DefaultCheckpointPieceOps is the default of Options.CheckpointPieceOps.
const DefaultCheckpointPieceOps = 4096

// writeCheckpoint writes frozen into bbolt in pieces, the last one
// recording last as the checkpoint's sequence number.
func (s *Store) writeCheckpoint(frozen *btree.BTreeG[entry], last uint64) error {
	n := s.opts.CheckpointPieceOps
	b := &kv.Batch{Ops: make([]kv.Op, 0, min(n, frozen.Len()))}
	var err error
	frozen.Ascend(func(e entry) bool {
		if len(b.Ops) == n {
			if err = s.bolt.Commit(b); err != nil {
				return false
			}
			hook("piece")
			b.Ops = b.Ops[:0]
		}
		b.Ops = append(b.Ops, kv.Op{Key: e.key, Value: e.value, Delete: e.del})
		return true
	})
	if err != nil {
		return err
	}
	return s.bolt.CommitCheckpoint(b, last)
}
