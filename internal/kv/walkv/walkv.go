// Package walkv is the default durable [kv.Store] of a database file: a
// bbolt file (package bboltkv) behind a write-ahead log (package wal) and an
// in-memory overlay.
//
// # How a commit is made durable
//
// Commit appends its batch to the log as one checksummed record and
// fdatasyncs the log once, then applies the batch to the overlay, an
// ordered in-memory map of key to value or deletion (google/btree), and
// returns. Snapshots merge the overlay over a bbolt read transaction; the
// first snapshot after a commit clones the overlay (copy-on-write), so
// that commits with no snapshot between them write the tree in place.
//
// bbolt is written only by checkpoints: a background goroutine freezes the
// overlay (new commits go to a fresh layer above it, and to a new log
// segment), writes the frozen layer into bbolt in normal, synced bbolt
// transactions of at most CheckpointPieceOps keys each (pieces.go), the
// last of which also records the sequence number of the last log record
// the file holds (bboltkv's CommitCheckpoint), drops the layer, and
// deletes the log segments the checkpoint covers. The bbolt file is
// therefore always a fully synced bbolt file, whatever a power loss
// interrupts, holding the recorded checkpoint and maybe part of the next;
// the log holds every commit after the recorded one, and replaying it
// over that part gives the same state.
//
// A checkpoint runs when the active layer holds CheckpointBytes, when its
// oldest commit is CheckpointAge old, and at Close. While one runs, commits
// go on into the active layer; when that reaches MaxOverlayBytes too,
// commits wait for the running checkpoint to finish. The overlay therefore
// holds at most about twice MaxOverlayBytes (the frozen layer and the
// active one), plus one batch.
//
// # Open
//
// Open opens the bbolt file, reads its checkpoint sequence number, and
// replays the records after it from the log segments into the overlay (not
// into bbolt). A torn or corrupt tail of the newest segment (a crash while
// appending) is cut at the end of the last whole record; a damaged record
// that a valid one follows, a damaged end of an older segment, or a gap in
// the sequence numbers is an error wrapping [ErrCorrupt] that names the
// segment and the byte, and nothing is cut or written. Records at or below
// the checkpoint (left by a crash between a checkpoint and the deletion of
// its segments) are skipped, so nothing is applied twice.
//
// A read-only store replays the log into memory too, and writes nothing:
// it sees every commit the log holds.
//
// # Files
//
// The log lives beside the bbolt file at path, in the directory
// path+"-wal", as segment files named after the sequence number of their
// first record (20 decimal digits, ".wal"). bbolt's file lock, taken
// first, keeps a second writing process out of both.
package walkv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"

	"github.com/livedb-go/livedb/internal/fsutil"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/wal"
)

// Defaults of Options.
const (
	DefaultCheckpointBytes = 32 << 20
	DefaultCheckpointAge   = time.Second
	DefaultMaxOverlayBytes = 256 << 20
)

// entryOverhead is what Commit counts for one overlay entry beyond its key
// and value: the tree's item and node share, roughly.
const entryOverhead = 64

// ErrCorrupt is wrapped by the errors of Open for a damaged log: a damaged
// record that a valid one follows, a damaged end of a segment that is not
// the newest, a gap in the sequence numbers, or a record that does not
// decode. The error also wraps bboltkv.ErrCorrupt, so that callers that
// map a damaged database file map a damaged log the same way.
var ErrCorrupt = errors.New("write-ahead log is damaged")

// corrupt returns an error wrapping ErrCorrupt and bboltkv.ErrCorrupt with
// text "<ErrCorrupt>: <what>".
func corrupt(format string, args ...any) error {
	return &corruptError{msg: ErrCorrupt.Error() + ": " + fmt.Sprintf(format, args...)}
}

type corruptError struct{ msg string }

func (e *corruptError) Error() string   { return e.msg }
func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, bboltkv.ErrCorrupt} }

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Timeout, ReadOnly and InitialMmapSize are bboltkv's.
	Timeout         time.Duration
	ReadOnly        bool
	InitialMmapSize int

	// NoSync makes the log unsynced (no fdatasync per commit) and the
	// checkpoints unsynced bbolt transactions. A crash of the machine may
	// then lose or corrupt committed data: tests and benchmarks only.
	NoSync bool

	// CheckpointBytes starts a checkpoint when the active overlay layer
	// holds this many bytes (keys, values and a per-entry overhead). Zero
	// means DefaultCheckpointBytes.
	CheckpointBytes int64
	// CheckpointAge starts a checkpoint when the oldest commit of the
	// active layer is this old. Zero means DefaultCheckpointAge.
	CheckpointAge time.Duration
	// MaxOverlayBytes is where commits wait for a running checkpoint: the
	// active layer holds at most about this much while one runs. Zero
	// means DefaultMaxOverlayBytes; it is raised to CheckpointBytes when
	// lower.
	MaxOverlayBytes int64
	// CheckpointPieceOps is the most keys one bbolt transaction of a
	// checkpoint writes (pieces.go). Zero means
	// DefaultCheckpointPieceOps.
	CheckpointPieceOps int
}

func (o *Options) withDefaults() Options {
	out := Options{}
	if o != nil {
		out = *o
	}
	if out.CheckpointBytes <= 0 {
		out.CheckpointBytes = DefaultCheckpointBytes
	}
	if out.CheckpointAge <= 0 {
		out.CheckpointAge = DefaultCheckpointAge
	}
	if out.MaxOverlayBytes <= 0 {
		out.MaxOverlayBytes = DefaultMaxOverlayBytes
	}
	out.MaxOverlayBytes = max(out.MaxOverlayBytes, out.CheckpointBytes)
	if out.CheckpointPieceOps <= 0 {
		out.CheckpointPieceOps = DefaultCheckpointPieceOps
	}
	return out
}

// Hook, when set (by tests), is called at named points of the store's
// work: "waiting" when a commit waits for a running checkpoint
// (backpressure); "appended" after a commit's record is synced in the log and before
// the commit is applied; "piece" after each piece of a checkpoint but the
// last is committed to bbolt (pieces.go); "checkpointed" after a checkpoint's last bbolt
// transaction is synced and before its segments are deleted. A test that
// kills its process there leaves exactly the files a crash at that point
// leaves.
var Hook func(point string)

func hook(point string) {
	if h := Hook; h != nil {
		h(point)
	}
}

// entry is an overlay item: a key's value, or its deletion.
type entry struct {
	key, value []byte
	del        bool
}

func lessEntry(a, b entry) bool { return bytes.Compare(a.key, b.key) < 0 }

const degree = 32

func newTree() *btree.BTreeG[entry] { return btree.NewG(degree, lessEntry) }

// view is what a new snapshot sees above bbolt: a clone of the active
// layer (never written) and, while a checkpoint runs, the frozen layer
// under it. A view is replaced, never changed. Commits do not publish a
// view: the first snapshot after them does (Store.refresh), when gen is
// behind the active layer's.
type view struct {
	active *btree.BTreeG[entry]
	gen    uint64               // Store.wGen when active was cloned
	frozen *btree.BTreeG[entry] // nil when no checkpoint runs
	done   chan struct{}        // closed when frozen is in bbolt and dropped
}

// Store is the [kv.Store]. It is safe for concurrent use; its snapshots and
// iterators are not.
type Store struct {
	path     string
	dir      string
	bolt     *bboltkv.Store
	opts     Options
	readOnly bool

	// Lock order: ckptMu, commitMu, snapMu, wMu, pubMu.
	ckptMu   sync.Mutex // held by a running checkpoint
	commitMu sync.Mutex // serialises Commit and the freeze of a checkpoint
	log      *wal.Log   // the newest segment; guarded by commitMu
	// wMu guards w (its writes, its replacement by the freeze, and its
	// clones by refresh, which write its copy-on-write context) and wGen;
	// commits hold it while they apply a batch, never during an append.
	wMu    sync.Mutex
	w      *btree.BTreeG[entry] // the active layer, written under commitMu and wMu
	wGen   atomic.Uint64        // counts the changes of w; written under wMu
	wBytes atomic.Int64         // what w holds, as CheckpointBytes counts
	wSince atomic.Int64         // unix nanoseconds of w's first commit, 0 when empty

	// snapMu is held shared by Snapshot from loading the view to beginning
	// the bbolt transaction, and exclusively by the freeze: a snapshot's
	// layers then always include every layer its bbolt transaction may
	// already hold.
	snapMu sync.RWMutex
	pubMu  sync.Mutex // guards the replacement of cur
	cur    atomic.Pointer[view]

	failed atomic.Pointer[error] // a checkpoint or log failure: commits stop
	closed atomic.Bool

	kick      chan struct{}
	stop      chan struct{}
	stopped   chan struct{}
	startOnce sync.Once // starts the checkpointer, or (Close, read-only) closes stopped instead
	closeOnce sync.Once
	closeErr  error
}

var _ kv.Store = (*Store)(nil)

// Open opens the store of the bbolt file at path and its log, replaying
// the log into the overlay (see the package doc). Errors of the bbolt file
// are bboltkv's (ErrLocked, ErrNotDatabase, ErrCorrupt); a damaged log
// wraps [ErrCorrupt].
func Open(path string, opts *Options) (*Store, error) {
	o := opts.withDefaults()
	b, err := bboltkv.Open(path, &bboltkv.Options{Timeout: o.Timeout, NoSync: o.NoSync, ReadOnly: o.ReadOnly, InitialMmapSize: o.InitialMmapSize})
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, dir: path + "-wal", bolt: b, opts: o, readOnly: o.ReadOnly, w: newTree(),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.recover(); err != nil {
		_ = b.Close()
		return nil, err
	}
	s.cur.Store(&view{active: s.w.Clone(), gen: s.wGen.Load()})
	if s.readOnly {
		s.startOnce.Do(func() { close(s.stopped) })
	} else if s.w.Len() > 0 {
		s.startCheckpointer() // the replayed records are due for one
	}
	return s, nil
}

// segmentName is the file name of the segment whose first record has
// sequence number first.
func segmentName(first uint64) string { return fmt.Sprintf("%020d.wal", first) }

// segments lists the segment files of dir by first sequence number.
func segments(dir string) ([]uint64, error) {
	names, err := fsutil.ReadDirNames(dir) // os.ReadDir without an *os.File
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, n := range names {
		name, ok := strings.CutSuffix(n, ".wal")
		if !ok || len(name) != 20 {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		firsts = append(firsts, n)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	return firsts, nil
}

// recover replays the log after bbolt's checkpoint into s.w and leaves
// s.log open on the newest segment (read-write stores).
func (s *Store) recover() error {
	ckpt, err := s.bolt.CheckpointSeq()
	if err != nil {
		return err
	}
	firsts, err := segments(s.dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && s.readOnly:
		return nil
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(s.dir, 0o700); err != nil {
			return fmt.Errorf("open %s: %w", s.dir, err)
		}
		if err := s.syncDir(filepath.Dir(s.dir)); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("open %s: %w", s.dir, err)
	}
	next := ckpt + 1 // the sequence number the next record must have
	for i, first := range firsts {
		newest := i == len(firsts)-1
		p := filepath.Join(s.dir, segmentName(first))
		if first > next {
			return corrupt("%s: the segment begins at sequence number %d, but the records before it end at %d (a segment is missing)", p, first, next-1)
		}
		if !newest && firsts[i+1] <= ckpt+1 {
			continue // wholly covered by the checkpoint: deleted below
		}
		l, rec, err := wal.Open(p, false, s.readOnly || !newest, s.opts.NoSync, first, func(seq uint64, payload []byte) error {
			if seq <= ckpt {
				return nil
			}
			// The overlay keeps slices of what it applies, and a payload
			// is only valid during the call: copy it (which also lets the
			// segment's read buffer go).
			if err := s.apply(bytes.Clone(payload)); err != nil {
				return corrupt("%s: record %d: %v", p, seq, err)
			}
			return nil
		})
		switch {
		case errors.Is(err, wal.ErrCorrupt), errors.Is(err, wal.ErrNotLog), errors.Is(err, wal.ErrVersion):
			return &corruptError{msg: err.Error()}
		case err != nil:
			return err
		case l == nil:
			return corrupt("%s: the segment vanished while it was read", p)
		}
		if !newest && rec.CutBytes > 0 {
			_ = l.Close()
			return corrupt("%s: the last %d bytes are damaged, and a newer segment follows", p, rec.CutBytes)
		}
		next = max(next, l.Next())
		if newest && !s.readOnly && l.Next() > ckpt {
			s.log = l
		} else {
			_ = l.Close()
		}
		if !newest && firsts[i+1] != l.Next() && firsts[i+1] > ckpt+1 {
			return corrupt("%s: the segment ends before sequence number %d, but the next one begins at %d", p, l.Next(), firsts[i+1])
		}
	}
	if s.readOnly {
		return nil
	}
	if s.log == nil {
		if s.log, err = s.createSegment(next); err != nil {
			return err
		}
		firsts = append(firsts, next)
	}
	return s.trimListed(firsts, s.log.Next(), ckpt) // the segments just listed: no second listing at Open
}

// createSegment creates the segment whose first record has sequence
// number first, durably (its directory entry synced).
func (s *Store) createSegment(first uint64) (*wal.Log, error) {
	l, _, err := wal.Open(filepath.Join(s.dir, segmentName(first)), true, false, s.opts.NoSync, first, func(uint64, []byte) error {
		return errors.New("a new segment holds records")
	})
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("create %s: the segment was not created", filepath.Join(s.dir, segmentName(first)))
	}
	if err := s.syncDir(s.dir); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// trim deletes the segments before the one beginning at keep whose records
// are all at or below ckpt.
func (s *Store) trim(keep, ckpt uint64) error {
	firsts, err := segments(s.dir)
	if err != nil {
		return fmt.Errorf("trim %s: %w", s.dir, err)
	}
	return s.trimListed(firsts, keep, ckpt)
}

// trimListed is trim of the segments firsts (ascending), as listed by the
// caller: recover passes the list it read, so Open lists the log once.
func (s *Store) trimListed(firsts []uint64, keep, ckpt uint64) error {
	removed := false
	for i, first := range firsts {
		if first >= keep || i+1 >= len(firsts) || firsts[i+1] > ckpt+1 {
			break
		}
		if err := os.Remove(filepath.Join(s.dir, segmentName(first))); err != nil {
			return fmt.Errorf("trim %s: %w", s.dir, err)
		}
		removed = true
	}
	if removed {
		return s.syncDir(s.dir)
	}
	return nil
}

func (s *Store) syncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Path returns the path of the bbolt file.
func (s *Store) Path() string { return s.path }

// NoSync reports whether commits skip the fdatasync of the log.
func (s *Store) NoSync() bool { return s.opts.NoSync }

// HasForeignBuckets is bboltkv's: whether the file holds data of another
// application.
func (s *Store) HasForeignBuckets() (bool, error) { return s.bolt.HasForeignBuckets() }

// Check is bboltkv's consistency check of the bbolt file.
func (s *Store) Check() error { return s.bolt.Check() }

func (s *Store) err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records err as the store's failure (the first one stays) and
// returns it.
func (s *Store) fail(err error) error {
	s.failed.CompareAndSwap(nil, &err)
	return s.err()
}

// Commit appends the batch to the log as one record, fdatasyncs the log
// (unless NoSync), applies the batch to the overlay and returns. It
// returns bboltkv's ErrEmptyKey, ErrKeyTooLarge, ErrValueTooLarge (applying
// nothing) and ErrReadOnly, each wrapping [kv.ErrRejected], and
// [kv.ErrClosed] after Close. A failed append, or an earlier failed
// checkpoint, is returned as is: the outcome is unknown, and every later
// Commit fails with the same error.
func (s *Store) Commit(b *kv.Batch) error {
	switch {
	case s.closed.Load():
		return kv.ErrClosed
	case s.readOnly:
		return kv.Reject(pathErr("commit", s.path, bboltkv.ErrReadOnly))
	case b == nil || len(b.Ops) == 0:
		return nil
	}
	if err := bboltkv.Validate(b); err != nil {
		return kv.Reject(pathErr("commit", s.path, err))
	}
	payload := encode(b)
	if len(payload) > wal.MaxRecord {
		return kv.Reject(pathErr("commit", s.path, fmt.Errorf("the batch takes %d bytes in the log, over its %d-byte limit for one commit", len(payload), wal.MaxRecord)))
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	for {
		if s.closed.Load() {
			return kv.ErrClosed
		}
		if err := s.err(); err != nil {
			return err
		}
		v := s.cur.Load()
		if s.wBytes.Load() < s.opts.MaxOverlayBytes || v.frozen == nil {
			break
		}
		// Backpressure: the active layer is full and the frozen one is
		// being written; wait for it.
		hook("waiting")
		s.commitMu.Unlock()
		<-v.done
		s.commitMu.Lock()
	}
	if err := s.log.Append(payload); err != nil {
		return s.fail(fmt.Errorf("commit %s: %w", s.path, err))
	}
	hook("appended")
	if err := s.apply(payload); err != nil {
		return s.fail(fmt.Errorf("commit %s: %w", s.path, err)) // encode's output always decodes
	}
	s.startCheckpointer()
	if s.wBytes.Load() >= s.opts.CheckpointBytes {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// apply decodes a record and applies it to s.w; the entries point into
// payload, which is not modified afterwards.
func (s *Store) apply(payload []byte) error {
	ops, err := decode(payload)
	if err != nil {
		return err
	}
	var n int64
	s.wMu.Lock()
	for _, op := range ops {
		s.w.ReplaceOrInsert(op)
		n += int64(len(op.key)+len(op.value)) + entryOverhead
	}
	s.wGen.Add(1)
	s.wMu.Unlock()
	if s.wBytes.Add(n) == n {
		s.wSince.Store(time.Now().UnixNano())
	}
	return nil
}

// startCheckpointer starts the checkpointer goroutine unless it runs
// already (or Close has begun). Open starts it only when the log replay
// left commits in the overlay; otherwise the first Commit does, so that
// an open that only reads starts no goroutine. Its first checkpoint is
// due CheckpointAge after the oldest commit either way.
func (s *Store) startCheckpointer() {
	s.startOnce.Do(func() { go s.checkpointer() })
}

// checkpointer runs checkpoints when the active layer is big or old
// enough, until Close.
func (s *Store) checkpointer() {
	defer close(s.stopped)
	t := time.NewTimer(s.opts.CheckpointAge)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-t.C:
		}
		since := s.wSince.Load()
		age := time.Duration(time.Now().UnixNano() - since)
		if s.wBytes.Load() >= s.opts.CheckpointBytes || since != 0 && age >= s.opts.CheckpointAge {
			if err := s.checkpoint(); err != nil {
				return // s.failed holds it: commits fail, Close reports it
			}
		}
		wait := s.opts.CheckpointAge
		if since := s.wSince.Load(); since != 0 {
			wait = max(time.Millisecond, s.opts.CheckpointAge-time.Duration(time.Now().UnixNano()-since))
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// Checkpoint writes every commit so far into bbolt, in synced bbolt
// transactions of at most Options.CheckpointPieceOps keys (the last one
// recording the checkpoint, pieces.go), and deletes the log segments it
// covers. It waits for a
// running checkpoint first. Checkpoints also run by themselves (see the
// package doc).
func (s *Store) Checkpoint() error {
	if s.closed.Load() {
		return kv.ErrClosed
	}
	if s.readOnly {
		return nil
	}
	return s.checkpoint()
}

// checkpoint freezes the active layer, writes it into bbolt, drops it and
// trims the log.
func (s *Store) checkpoint() error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if err := s.err(); err != nil {
		return err
	}
	// Freeze: a new segment for the commits that follow, a fresh active
	// layer above the frozen one.
	s.commitMu.Lock()
	// Checked again under commitMu: a Commit whose append failed after the
	// check above may have left part of a record at Next in the segment,
	// and a new segment starting at that number would overlap it.
	if err := s.err(); err != nil || s.w.Len() == 0 {
		s.commitMu.Unlock()
		return err
	}
	last := s.log.Next() - 1
	nl, err := s.createSegment(last + 1)
	if err != nil {
		s.commitMu.Unlock()
		return s.fail(fmt.Errorf("checkpoint %s: %w", s.path, err))
	}
	old := s.log
	s.log = nl
	done := make(chan struct{})
	// The swap of the layers and the new view are one step for Snapshot
	// (snapMu): none may clone the fresh layer under the old view.
	s.snapMu.Lock()
	s.wMu.Lock()
	frozen := s.w // never written again
	s.w = newTree()
	gen := s.wGen.Add(1)
	s.wMu.Unlock()
	s.wBytes.Store(0)
	s.wSince.Store(0)
	s.pubMu.Lock()
	s.cur.Store(&view{active: newTree(), gen: gen, frozen: frozen, done: done}) // as empty as s.w
	s.pubMu.Unlock()
	s.snapMu.Unlock()
	s.commitMu.Unlock()
	_ = old.Close()

	if err := s.writeCheckpoint(frozen, last); err != nil { // pieces.go
		// The frozen layer stays in the view: reads stay right, and the
		// log still holds it for the next Open. Commits waiting for the
		// layer wake up to the failure.
		err = s.fail(fmt.Errorf("checkpoint %s: %w", s.path, err))
		close(done)
		return err
	}
	hook("checkpointed")
	s.pubMu.Lock()
	v := s.cur.Load()
	s.cur.Store(&view{active: v.active, gen: v.gen})
	s.pubMu.Unlock()
	close(done)
	if err := s.trim(last+1, last); err != nil {
		return s.fail(fmt.Errorf("checkpoint %s: %w", s.path, err))
	}
	return nil
}

// Close stops the checkpoints, writes the last one (a read-write store
// that has not failed), closes the log and closes the bbolt file, which
// waits until every open snapshot is released. Commits and snapshots fail
// with kv.ErrClosed from its start. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.commitMu.Lock()
		s.closed.Store(true)
		s.commitMu.Unlock()
		if !s.readOnly {
			close(s.stop)
		}
		s.startOnce.Do(func() { close(s.stopped) }) // never started: nothing to stop
		<-s.stopped
		var errs []error
		if !s.readOnly {
			if s.err() == nil {
				if err := s.checkpoint(); err != nil {
					errs = append(errs, err)
				}
			} else {
				errs = append(errs, s.err())
			}
			if err := s.log.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", s.log.Path(), err))
			}
		}
		if err := s.bolt.Close(); err != nil {
			errs = append(errs, err)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Snapshot returns a read view: a bbolt read transaction at the current
// checkpoint and the overlay layers above it. bboltkv's caveats hold: hold
// it only while a query runs, and release it before waiting for a Commit.
func (s *Store) Snapshot() (kv.Snapshot, error) {
	if s.closed.Load() {
		return nil, kv.ErrClosed
	}
	s.snapMu.RLock()
	v := s.cur.Load()
	if v.gen != s.wGen.Load() {
		v = s.refresh()
	}
	bs, err := s.bolt.Snapshot()
	s.snapMu.RUnlock()
	if err != nil {
		return nil, err
	}
	sn := &snapshot{s: s, b: bs}
	sn.layers = sn.buf[:0]
	if v.active.Len() > 0 {
		sn.layers = append(sn.layers, v.active)
	}
	if v.frozen != nil && v.frozen.Len() > 0 {
		sn.layers = append(sn.layers, v.frozen)
	}
	return sn, nil
}

// refresh publishes a view whose active layer is a clone of the active
// layer as it is now, and returns it (or a newer one another snapshot
// published meanwhile). The caller holds snapMu shared, so no freeze
// swaps the layers meanwhile; a checkpoint may still drop the frozen
// layer, which the new view then leaves out too.
func (s *Store) refresh() *view {
	s.wMu.Lock()
	gen := s.wGen.Load()
	active := s.w.Clone()
	s.wMu.Unlock()
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	cur := s.cur.Load()
	if cur.gen >= gen {
		return cur
	}
	v := &view{active: active, gen: gen, frozen: cur.frozen, done: cur.done}
	s.cur.Store(v)
	return v
}
