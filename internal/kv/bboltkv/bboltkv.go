// Package bboltkv is the durable implementation of [kv.Store]: one bbolt
// file, one bucket ([BucketName]) holding the keys, but for those of each
// index, in a bucket of its own (segments.go). A snapshot is a bbolt
// read transaction; a commit is one bbolt write transaction, fsynced before
// Commit returns unless Options.NoSync is set.
//
// # Caveats
//
// These come from bbolt and bind the engine above:
//
//   - Close waits until every open snapshot is released. Release snapshots
//     before closing, and never close from a goroutine that holds one.
//   - A Commit that grows the file beyond the memory map remaps it, and
//     the remap waits until every open snapshot is released. A goroutine
//     that waits for a Commit (its own or another's) while it holds a
//     snapshot can therefore deadlock. The default Options.InitialMmapSize
//     (1 GiB on 64-bit Unix) makes remaps rare, not impossible: release the
//     snapshot before waiting for a commit.
//   - An open snapshot pins the pages it sees; pages freed by later commits
//     are reused only after it is released, so long snapshots grow the
//     file. The file never shrinks.
//   - Only one process may open the file for writing at a time; Open fails
//     with [ErrLocked] after Options.Timeout rather than waiting forever.
//   - Slices returned by reads point into the read-only memory map: writing
//     to them crashes the program.
package bboltkv

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/livedb-go/livedb/internal/fsutil"
	"github.com/livedb-go/livedb/internal/kv"
)

// BucketName is the name of the bbolt bucket that holds every key but the
// indexes' (whose buckets are named BucketName followed by a 6-byte key
// prefix, segments.go). A bbolt file without it opens as an empty store;
// the first Commit creates it.
const BucketName = "livedb"

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is not set.
const DefaultTimeout = time.Second

// DefaultFileMode is the permission of a file created by Open when
// Options.FileMode is not set.
const DefaultFileMode os.FileMode = 0o600

// MaxKeySize is the longest key, in bytes, that Commit accepts (bbolt's
// limit).
const MaxKeySize = bolt.MaxKeySize

// MaxValueSize is the longest value, in bytes, that Commit accepts (bbolt's
// limit).
const MaxValueSize = bolt.MaxValueSize

var bucketName = []byte(BucketName)

// syncDir fsyncs a directory; tests replace it to see the calls.
var syncDir = fsutil.SyncDir

// fillPercent is where bbolt splits the pages of the bucket (see Commit).
const fillPercent = 0.9

// freelistType is how bbolt keeps the free pages in memory. Every
// read-write open loads the whole freelist. The array freelist copies the
// stored page ids; the map freelist also builds hash maps of the free runs,
// which a fresh process pays in page faults of new heap memory, so the
// array opens faster. The array's allocation scans the ids for the first
// free run that fits, but livedb's freelists stay small (the pages of the
// last commits: a few thousand) and its commits mostly take single pages,
// the head of the array, so it also commits at least as fast
// (BenchmarkStoreCommitFreelist; the figures are in bench/README.md).
var freelistType = bolt.FreelistArrayType

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another
	// process before it fails with ErrLocked. Zero or negative means
	// DefaultTimeout; Open never waits forever.
	Timeout time.Duration

	// NoSync skips the fsync after each commit, and of the directory of a
	// file that Open creates. A crash of the machine (not only of the
	// process) may then lose or corrupt committed data: use it for tests
	// and benchmarks only.
	NoSync bool

	// ReadOnly opens the file with a shared lock, so that several read-only
	// processes may open it at once; Commit returns ErrReadOnly. The file
	// must exist.
	ReadOnly bool

	// FileMode is the permission of a file that Open creates. Zero means
	// DefaultFileMode.
	FileMode os.FileMode

	// InitialMmapSize is the size in bytes of the first memory map of the
	// file; commits remap (and wait for open snapshots) only when the file
	// outgrows it. Zero means the default: 1 GiB on 64-bit platforms other
	// than Windows (address space only: the file does not grow), and
	// bbolt's minimum elsewhere (on Windows bbolt grows the file to the map
	// size). Negative means bbolt's minimum (32 KiB, doubling).
	InitialMmapSize int
}

// withDefaults returns a copy of o with every zero field set.
func (o *Options) withDefaults() *Options {
	out := Options{}
	if o != nil {
		out = *o
	}
	if out.Timeout <= 0 {
		out.Timeout = DefaultTimeout
	}
	if out.FileMode == 0 {
		out.FileMode = DefaultFileMode
	}
	switch {
	case out.InitialMmapSize < 0:
		out.InitialMmapSize = 0
	case out.InitialMmapSize == 0 && runtime.GOOS != "windows" && strconv.IntSize == 64:
		out.InitialMmapSize = 1 << 30
	}
	return &out
}

// boltOptions returns bbolt's options for o, opening files through
// openFile.
func (o *Options) boltOptions(readOnly bool, openFile func(string, int, os.FileMode) (*os.File, error)) *bolt.Options {
	return &bolt.Options{
		Timeout:         o.Timeout,
		NoSync:          o.NoSync,
		ReadOnly:        readOnly,
		InitialMmapSize: o.InitialMmapSize,
		FreelistType:    freelistType,
		NoStatistics:    true,
		OpenFile:        openFile,
	}
}

// Store is a [kv.Store] backed by one bbolt file. It is safe for concurrent
// use by multiple goroutines; its snapshots and iterators are not.
type Store struct {
	path     string
	db       *bolt.DB
	readOnly bool
	closed   atomic.Bool // set once, by Close, under mu and life

	// Lock order: mu, then life.
	mu   sync.Mutex   // serialises Commit, Check and Close
	life sync.RWMutex // held shared while a snapshot's transaction begins, so that Close never runs bbolt's Close under a beginning transaction

	closeOnce sync.Once
	closeErr  error

	segSet atomic.Pointer[segSet] // what scans know of the segments (segset.go)
}

var _ kv.Store = (*Store)(nil)

// Open opens the bbolt file at path, creating it unless opts.ReadOnly is
// set. An empty (zero-length) file is initialised as a new database, as
// bbolt does. When Open creates or initialises the file, it also fsyncs
// the directory that holds it (unless opts.NoSync), so that the file
// itself survives a crash of the machine.
//
// Open fails with [ErrLocked] when another process holds the file for
// longer than opts.Timeout, [ErrNotDatabase] when the file is not a bbolt
// database, and [ErrCorrupt] when it is a damaged one; it never panics on a
// bad file. A valid bbolt file without the [BucketName] bucket opens as an
// empty store and is not modified by Open.
func Open(path string, opts *Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open: empty path")
	}
	o := opts.withDefaults()
	fresh := false // Open creates the file, or initialises an empty one
	var check func(*os.File) error
	if !o.ReadOnly {
		// Validate an existing file first, on the descriptor bbolt goes on
		// with, before bbolt reads it: a read-write open loads the freelist
		// page, which faults if the file is truncated.
		check = func(f *os.File) error {
			fi, err := f.Stat()
			if err != nil {
				return pathError("open", path, err)
			}
			if fi.Size() == 0 {
				fresh = true
				return nil
			}
			return validateFile(f, fi.Size(), path, o)
		}
	}
	db, err := openBolt(path, o, o.ReadOnly, check)
	if err != nil {
		return nil, err
	}
	// bbolt synced the new file's first pages; its name is durable once
	// the directory is synced too. Commits are acknowledged only after.
	if fresh && !o.NoSync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("bboltkv: open %s: %w", path, err)
		}
	}
	if o.ReadOnly {
		if err := checkSize(db, path); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	s := &Store{path: path, db: db, readOnly: o.ReadOnly}
	s.segSet.Store(loadSegSet(db)) // segset.go
	return s, nil
}

// validateFile checks an existing file of size bytes, open as f, before a
// read-write open: its meta pages, read directly (checkHeader), or when
// they do not decide, a read-only open of the file and its size
// (checkSize), as bbolt reads it.
func validateFile(f *os.File, size int64, path string, o *Options) error {
	err := checkHeader(f, size, path)
	if !errors.Is(err, errUndecided) {
		return err
	}
	probe, err := openBolt(path, o, true, nil)
	if err != nil {
		return err
	}
	err = checkSize(probe, path)
	if cerr := probe.Close(); err == nil && cerr != nil {
		err = pathError("open", path, fmt.Errorf("close the probe: %w", cerr))
	}
	return err
}

// openBolt runs bolt.Open, turning a panic or a memory fault on a bad file
// into ErrCorrupt. On a panic bbolt cannot clean up, so openBolt closes the
// file itself (which drops the lock); the memory map, if any, leaks. check,
// if not nil, runs on the opened file before bbolt reads it (and before it
// takes the lock); its error ends the open. The file is opened without
// the runtime's poller (fsutil.OpenFile).
func openBolt(path string, o *Options, readOnly bool, check func(*os.File) error) (db *bolt.DB, err error) {
	var file *os.File
	var checkErr error // check's, returned as it is
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := fsutil.OpenFile(name, flag, perm)
		if err == nil && check != nil {
			if checkErr = check(f); checkErr != nil {
				_ = f.Close()
				return nil, checkErr
			}
		}
		file = f
		return f, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				_ = file.Close()
			}
			db, err = nil, panicError(path, "open", r)
		}
	}()
	db, err = bolt.Open(path, o.FileMode, o.boltOptions(readOnly, openFile))
	switch {
	case checkErr != nil:
		return nil, checkErr
	case err != nil:
		return nil, openError(path, o, err)
	}
	return db, nil
}

// checkSize fails with ErrCorrupt when the file is shorter than the pages
// its meta page accounts for: reading such a file would fault.
func checkSize(db *bolt.DB, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return pathError("open", path, err)
	}
	tx, err := db.Begin(false)
	if err != nil {
		return pathError("open", path, err)
	}
	want := tx.Size()
	_ = tx.Rollback()
	if fi.Size() < want {
		return pathError("open", path, fmt.Errorf("%w: the file holds %d bytes but its meta page accounts for %d (truncated)",
			ErrCorrupt, fi.Size(), want))
	}
	return nil
}

// HasForeignBuckets reports whether the file holds buckets other than
// [BucketName]: data of another application, which a caller that finds none
// of its own data should not adopt.
func (s *Store) HasForeignBuckets() (found bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			found, err = false, panicError(s.path, "list buckets", r)
		}
	}()
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if string(name) != BucketName && string(name) != MetaBucketName && !isSegmentName(name) {
				found = true
			}
			return nil
		})
	})
	return found, err
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// NoSync reports whether commits skip the fsync: the setting of the open
// bbolt file, which Options.NoSync gives.
func (s *Store) NoSync() bool { return s.db.NoSync }

// Snapshot begins a bbolt read transaction. See the package caveats: hold it
// only while a query runs, and release it before waiting for a Commit.
func (s *Store) Snapshot() (kv.Snapshot, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed.Load() {
		return nil, kv.ErrClosed
	}
	tx, err := s.db.Begin(false)
	switch {
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return nil, kv.ErrClosed
	case err != nil:
		return nil, pathError("snapshot", s.path, err)
	}
	b, err := s.bucket(tx)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return &snapshot{s: s, tx: tx, b: b}, nil
}

// bucket looks BucketName up in tx, which reads the root page: nil when the
// file has no such bucket, ErrCorrupt when the page is damaged.
func (s *Store) bucket(tx *bolt.Tx) (b *bolt.Bucket, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, panicError(s.path, "snapshot", r)
		}
	}()
	return tx.Bucket(bucketName), nil
}

// seqOp is an operation with its position in its batch.
type seqOp struct {
	kv.Op
	seq int
}

// Commit applies the batch in one bbolt write transaction and, unless the
// store was opened with NoSync, fsyncs before it returns. It returns
// [ErrEmptyKey], [ErrKeyTooLarge] or [ErrValueTooLarge] (applying nothing)
// for an invalid operation and [ErrReadOnly] on a read-only store, each
// also wrapping [kv.ErrRejected], and [kv.ErrClosed] after Close. Any other
// error (a failed write or fsync, a damaged file) leaves the outcome
// unknown, as [kv.Store] says. An empty batch commits nothing and does not
// touch the file.
func (s *Store) Commit(b *kv.Batch) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil || b == nil || len(b.Ops) == 0 {
		return err
	}
	return s.commit(b, nil)
}

// writable returns the error of a commit to a closed or read-only store,
// nil when the store takes commits.
func (s *Store) writable() error {
	switch {
	case s.closed.Load():
		return kv.ErrClosed
	case s.readOnly:
		return kv.Reject(pathError("commit", s.path, ErrReadOnly))
	}
	return nil
}

// commit is Commit's transaction, under s.mu, of a batch that is not
// read-only or closed; extra, if not nil, writes more in the same
// transaction (checkpoint.go).
func (s *Store) commit(b *kv.Batch, extra func(*bolt.Tx) error) (err error) {
	if err := Validate(b); err != nil {
		return kv.Reject(pathError("commit", s.path, err))
	}
	// Writing keys in order keeps bbolt's work linear: in one transaction,
	// unsorted writes keep splitting and copying the same pages, which made
	// large imports quadratic. Operations on one key keep their order, so
	// the later one still wins; pdqsort with the position as a tie-break
	// costs half of a stable sort's merges (bench/README.md has the
	// figures).
	ops := make([]seqOp, len(b.Ops))
	for i, op := range b.Ops {
		ops[i] = seqOp{op, i}
	}
	slices.SortFunc(ops, func(x, y seqOp) int {
		if c := bytes.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = panicError(s.path, "commit", r) // bbolt's Update rolled back
		}
	}()
	s.noteCommit(ops) // before any snapshot can see what the batch creates (segset.go)
	err = s.db.Update(func(tx *bolt.Tx) error {
		main, err := tx.CreateBucketIfNotExists(bucketName)
		if err != nil {
			return err
		}
		// Most of livedb's writes land at the end of a key range: by_id
		// (IDs start with the time), by_creation_time, the change feed and
		// the timestamp keys. bbolt splits a node at FillPercent, so the 0.5
		// default leaves every appended page half empty for good. Each
		// index has a bucket of its own, whose FillPercent the commit sets,
		// as the main bucket's, from where its new keys fall (segments.go):
		// appended pages split full, pages of randomly written indexes at
		// 70%.
		groups, err := bucketGroups(tx, main, ops)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.b != nil { // nil: only deletes, in a segment never created
				g.b.FillPercent = fillFor(g.b, g.puts)
			}
		}
		for _, op := range ops {
			bkt, key := main, op.Key
			if p := segmentOf(op.Key); p != nil {
				bkt, key = groups[string(p)].b, op.Key[len(p):] // a segment stores keys without prefix
			}
			if bkt == nil {
				continue // a delete in a segment that does not exist
			}
			if op.Delete {
				err = bkt.Delete(key)
			} else {
				err = bkt.Put(key, op.Value)
			}
			if err != nil {
				return fmt.Errorf("op %d: %w", op.seq, err)
			}
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
	if err != nil {
		return pathError("commit", s.path, err)
	}
	return nil
}

// Validate checks every operation of b as Commit does before its
// transaction begins: the error Commit would refuse the batch with, nil
// when Commit would take it. A store that logs batches before they reach
// bbolt (package walkv) checks them with it, so that bbolt never refuses
// what the log accepted.
func Validate(b *kv.Batch) error {
	for i, op := range b.Ops {
		switch {
		case len(op.Key) == 0:
			return fmt.Errorf("op %d: %w", i, ErrEmptyKey)
		case len(op.Key) > MaxKeySize:
			return fmt.Errorf("op %d: %w (%d bytes, max %d)", i, ErrKeyTooLarge, len(op.Key), MaxKeySize)
		case !op.Delete && int64(len(op.Value)) > MaxValueSize:
			return fmt.Errorf("op %d: %w (%d bytes, max %d)", i, ErrValueTooLarge, len(op.Value), MaxValueSize)
		}
	}
	return nil
}

// Check verifies the whole file with bbolt's consistency check (every page
// reachable once, none both used and free) and returns ErrCorrupt with the
// findings. It reads every page, so it costs time in proportion to the
// file, and it blocks commits while it runs.
func (s *Store) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return kv.ErrClosed
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return pathError("check", s.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.walk(tx); err != nil {
		return err
	}
	var errs []error
	for err := range tx.Check() {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return pathError("check", s.path, fmt.Errorf("%w: %w", ErrCorrupt, errors.Join(errs...)))
	}
	return nil
}

// walk visits every entry of every bucket of tx before tx.Check runs.
// tx.Check reads the pages in a goroutine of its own, where a memory fault
// on a corrupt page reference would crash the program; walk reads the same
// pages here, where a fault becomes an ErrCorrupt error.
func (s *Store) walk(tx *bolt.Tx) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = panicError(s.path, "check", r)
		}
	}()
	var walkBucket func(b *bolt.Bucket)
	walkBucket = func(b *bolt.Bucket) {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					walkBucket(nb)
				}
			}
		}
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
		walkBucket(b)
		return nil
	})
}

// Close waits for a running Commit, marks the store closed (open snapshots
// return kv.ErrClosed from then on) and closes the file, which waits until
// every open snapshot is released. Close is idempotent; later calls return
// the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.life.Lock()
		s.closed.Store(true)
		s.life.Unlock()
		s.mu.Unlock()
		if err := s.db.Close(); err != nil {
			s.closeErr = pathError("close", s.path, err)
		}
	})
	return s.closeErr
}
