package livedb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/livedb-go/livedb/internal/fsutil"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/wal"
)

// The write-ahead log of a database file (Open of a path). Every storage
// commit (a commit group, a schema change at Open, an import) is first
// appended to the log beside the bbolt file as one checksummed record and
// made durable with one fdatasync; it is then written to bbolt, which runs
// with NoSync, in the same call, so the snapshot published after a commit
// holds it (reads see their writes) and subscriptions, which run after
// Commit returns, fire only on durable commits. bbolt's two fsyncs per
// commit become one fdatasync of the log, and bbolt is synced only at a
// checkpoint: once walCheckpointBytes of records piled up, and at Close.
// A checkpoint syncs bbolt, then trims the log; a crash in between
// replays records bbolt already holds, which changes nothing (a record is
// whole-value puts and deletes, applied in order).
//
// The record is the storage batch itself (walBatch), not the engine's
// logGroup: the batch also carries what storeGroup adds (catalog, last
// timestamp, change-feed pruning) and the commits that do not go through
// the committer (Open's schema changes, Import), so replaying it rebuilds
// the file exactly, before Open reads the catalog. Nothing of the engine's
// memory needs rebuilding: Open loads it from the store as after a clean
// shutdown.

// walSuffix names the log: the database file's path with it appended.
const walSuffix = "-wal"

// walCheckpointBytes is how many bytes of records the log gathers before a
// commit checkpoints. A variable so that white-box tests can lower it.
var walCheckpointBytes int64 = 32 << 20

// walHook, when set by a test, is called at the points of the log's life
// that the crash tests stop at: "appended" (a record is durable in the
// log, bbolt does not have it yet) and "synced" (a checkpoint synced
// bbolt, the log is not trimmed yet).
var walHook func(point string)

func walAt(point string) {
	if walHook != nil {
		walHook(point)
	}
}

// walPath returns the log's path for the database file at path.
func walPath(path string) string { return path + walSuffix }

// openFileStore opens the bbolt file at path and, for a read-write open
// without NoSync or NoWAL, the log in front of it, after replaying what
// the log holds. A read-only open refuses a log that holds records
// (ErrNeedsRecovery): applying them is writing. An open without the log
// applies a left-over log, then removes it.
func openFileStore(path string, o Options) (kv.Store, error) {
	useWAL := !o.NoSync && !o.NoWAL && !o.ReadOnly
	store, err := bboltkv.Open(path, &bboltkv.Options{Timeout: o.Timeout, NoSync: o.NoSync || useWAL, ReadOnly: o.ReadOnly, InitialMmapSize: bboltMmapSize})
	if err != nil {
		return nil, err
	}
	// bbolt's file lock is held from here: no other process writes the log.
	s, err := attachWAL(store, path, o, useWAL)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return s, nil
}

// attachWAL replays the log beside store's file into store and returns the
// store to use: store itself, or a walStore in front of it.
func attachWAL(store *bboltkv.Store, path string, o Options, useWAL bool) (kv.Store, error) {
	lp := walPath(path)
	replay := func(seq uint64, payload []byte) error {
		b, err := decodeWALBatch(payload)
		if err != nil {
			return fmt.Errorf("%w: %s: record %d: %w", ErrCorrupt, lp, seq, err)
		}
		if o.ReadOnly {
			return fmt.Errorf("%w: %s holds commits that are not in %s yet (the process that wrote them ended without closing the database); open it once without ReadOnly to apply them",
				ErrNeedsRecovery, lp, path)
		}
		return store.Commit(b)
	}
	log, rec, err := wal.Open(lp, useWAL, o.ReadOnly, o.NoSync, replay)
	switch {
	case errors.Is(err, wal.ErrCorrupt):
		return nil, notLivedb(path, fmt.Errorf("%w: %w", ErrCorrupt, err))
	case errors.Is(err, wal.ErrNotLog), errors.Is(err, wal.ErrVersion):
		return nil, notLivedb(path, err)
	case err != nil:
		return nil, err
	}
	if rec.CutBytes > 0 {
		o.Logger.Warn("livedb: cut the torn end of the write-ahead log (a commit that was never acknowledged)",
			"path", lp, "bytes", rec.CutBytes)
	}
	if log == nil {
		return store, nil // no log and none wanted
	}
	if o.ReadOnly {
		return store, log.Close() // a log without records
	}
	if !useWAL || rec.Records > 0 || rec.Created {
		// A checkpoint: what was replayed (or the new file) is synced
		// before the log is trimmed or removed.
		if err := store.Sync(); err != nil {
			_ = log.Close()
			return nil, err
		}
	}
	if !useWAL {
		if err := removeWAL(log, lp, o.NoSync); err != nil {
			return nil, err
		}
		return store, nil
	}
	if rec.Records > 0 {
		walAt("synced")
		if err := log.Trim(); err != nil {
			_ = log.Close()
			return nil, err
		}
	}
	return &walStore{Store: store, log: log}, nil
}

// removeWAL closes and removes a log whose records are in the synced file.
func removeWAL(log *wal.Log, lp string, noSync bool) error {
	if err := log.Close(); err != nil {
		return err
	}
	if err := os.Remove(lp); err != nil {
		return err
	}
	if noSync {
		return nil
	}
	return fsutil.SyncDir(filepath.Dir(lp))
}

// walStore is a bbolt store (opened with NoSync) with the log in front of
// it. It is safe for concurrent use, as kv.Store requires: snapshots go to
// bbolt; mu serialises Commit, checkpoints and Close.
type walStore struct {
	*bboltkv.Store
	mu     sync.Mutex
	log    *wal.Log // nil once closed
	since  int64    // bytes of records since the last checkpoint
	failed error    // a failed bbolt commit or sync: the log is never trimmed again
	buf    []byte
}

// Commit appends b to the log, fdatasyncs it, then applies it to bbolt
// without a sync, checkpointing once enough records piled up. An error
// after the append leaves the outcome unknown, as kv.Store says: the
// record is in the log, and the next Open applies it.
func (s *walStore) Commit(b *kv.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.log == nil:
		return kv.ErrClosed
	case b == nil || len(b.Ops) == 0:
		return nil
	}
	if err := s.Store.Validate(b); err != nil {
		return err // refused before anything was written
	}
	s.buf = encodeWALBatch(s.buf[:0], b)
	if err := s.log.Append(s.buf); err != nil {
		return err
	}
	n := len(s.buf)
	if cap(s.buf) > 1<<20 {
		s.buf = nil
	}
	walAt("appended")
	if err := s.Store.Commit(b); err != nil {
		s.failed = err
		return err
	}
	s.since += int64(n)
	if s.since >= walCheckpointBytes {
		return s.checkpointLocked()
	}
	return nil
}

// checkpointLocked syncs bbolt, then trims the log. After a failed bbolt
// commit or sync the log is kept whole: a failed fsync may have dropped
// pages that a later one would not write again. Caller holds mu.
func (s *walStore) checkpointLocked() error {
	if s.failed != nil {
		return fmt.Errorf("checkpoint skipped after an earlier failure: %w", s.failed)
	}
	if s.log.Empty() {
		return nil
	}
	if err := s.Store.Sync(); err != nil {
		s.failed = err
		return err
	}
	walAt("synced")
	if err := s.log.Trim(); err != nil {
		s.failed = err
		return err
	}
	s.since = 0
	return nil
}

// Close checkpoints, closes the log, then closes bbolt. Close is
// idempotent.
func (s *walStore) Close() error {
	s.mu.Lock()
	var err error
	if s.log != nil {
		if s.failed == nil {
			err = s.checkpointLocked()
		}
		err = errors.Join(err, s.log.Close())
		s.log = nil
	}
	s.mu.Unlock()
	return errors.Join(err, s.Store.Close())
}

// walBatchFormat is the first byte of a log record.
const walBatchFormat = 1

// encodeWALBatch appends b as a log record to dst: the format byte, the
// number of operations, then each as 0 (put), key, value or 1 (delete),
// key.
func encodeWALBatch(dst []byte, b *kv.Batch) []byte {
	dst = append(dst, walBatchFormat)
	dst = binary.AppendUvarint(dst, uint64(len(b.Ops)))
	for _, op := range b.Ops {
		if op.Delete {
			dst = appendBytes(append(dst, 1), op.Key)
			continue
		}
		dst = appendBytes(append(dst, 0), op.Key)
		dst = appendBytes(dst, op.Value)
	}
	return dst
}

// errBadWALRecord says that a record whose checksum matched does not
// decode: written by something else.
var errBadWALRecord = errors.New("malformed write-ahead log record")

// decodeWALBatch decodes a record that encodeWALBatch wrote. The batch's
// slices point into p.
func decodeWALBatch(p []byte) (*kv.Batch, error) {
	r := &logReader{b: p}
	if f := r.byte1(); r.err == nil && f != walBatchFormat {
		return nil, fmt.Errorf("%w: record format %d, this livedb reads format %d", errBadWALRecord, f, walBatchFormat)
	}
	n := r.count()
	b := &kv.Batch{Ops: make([]kv.Op, 0, n)}
	for range n {
		switch r.byte1() {
		case 0:
			b.Ops = append(b.Ops, kv.Op{Key: r.bytes(), Value: r.bytes()})
		case 1:
			b.Ops = append(b.Ops, kv.Op{Key: r.bytes(), Delete: true})
		default:
			r.err = errBadLogGroup
		}
		if r.err != nil {
			break
		}
	}
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("%w: %w", errBadWALRecord, r.err)
	case len(r.b) != 0:
		return nil, fmt.Errorf("%w: %d bytes after its end", errBadWALRecord, len(r.b))
	}
	return b, nil
}
