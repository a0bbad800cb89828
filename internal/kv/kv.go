// Package kv is the narrow, byte-oriented ordered key-value interface that
// livedb's engine runs on. It has two implementations: package bboltkv
// (durable, one bbolt file) and package memkv (a copy-on-write B-tree in
// memory). A later backend on a shared database server plugs in
// here, so the interface stays small and knows nothing of documents.
//
// Keys are compared with bytes.Compare. Empty keys are not allowed.
//
// # The memo extension
//
// [Store], [Snapshot] and [Iterator] are the whole contract: livedb is
// correct on any store that implements them. A store that keeps committed
// values as immutable in-memory objects (memkv) may also offer a [Memo] per
// committed version, through [MemoSnapshot] and [MemoIterator], so that
// readers can cache what they derive from a version; livedb finds them with
// a type assertion and otherwise reads bytes. The extension is optional and
// an optimisation only: what a reader gets through it must equal what it
// would derive from the bytes. Its rules:
//
//   - One memo per version. A version is one Put of a key by one Commit
//     (rewriting the same bytes makes a new version). GetMemo and an
//     iterator return the same *Memo for the same version, a different one
//     for any other version, and the memo lives as long as the version does.
//   - Who writes what. The store alone sets the commits between which the
//     version is current ([Memo.Init], [Memo.Supersede]); readers call
//     [Memo.Store] and [Memo.CompareAndSwap], from any goroutine,
//     concurrently; a writer may hand the first value with its Put
//     ([Op.Memo]), which the store stores before the version is visible.
//   - Immutability. A value stored in a memo is derived from committed,
//     never-changing state and is not modified after it is stored (except
//     by its own Superseded, see [Superseder]); a reader that wants to
//     modify it copies it. Concurrent readers may store equivalent values
//     with Store, and the last one stays; a user whose value must be the
//     only one of its version (livedb's decoding, which index entries
//     link to) uses [Memo.CompareAndSwap] instead.
//   - One concrete type. A memo is an [atomic.Value], so every Store to
//     one Memo must use the same concrete type or it panics. livedb stores
//     *cachedDoc (a decoded document) in a by_id entry's memo, and in an
//     index entry's memo a *docLink: the decoding of the document version
//     the entry led to, which that decoding's Superseded empties when the
//     version is replaced.
package kv

import (
	"errors"
	"sync/atomic"
)

// MaxKeySize is the longest key, in bytes, that every Store's Commit
// accepts (bbolt's limit). The engine refuses a write whose keys are longer
// before it reaches a store.
const MaxKeySize = 32768

// ErrClosed is returned by every method of a Store, Snapshot or Iterator used
// after the Store was closed. Like the errors of the implementations, its
// text names no package: livedb, which shows them to its users, adds its
// own "livedb: " prefix.
var ErrClosed = errors.New("store is closed")

// ErrRejected is wrapped by the errors of a Commit that refused its batch
// before writing anything (an invalid operation, a read-only store): the
// store is unchanged and stays usable. See [Reject].
var ErrRejected = errors.New("kv: batch rejected")

// Reject returns err marked as a refusal of a batch before anything was
// written: it has err's message and wraps both err and [ErrRejected].
func Reject(err error) error { return rejected{err} }

type rejected struct{ err error }

func (r rejected) Error() string   { return r.err.Error() }
func (r rejected) Unwrap() []error { return []error{r.err, ErrRejected} }

// Store is an ordered key-value store. It is safe for concurrent use by
// multiple goroutines: any number of snapshots may be open while one Commit
// runs; Commits are serialised by the store. Its snapshots may also offer
// the optional memo extension (see the package doc); correctness never
// depends on it.
type Store interface {
	// Snapshot returns a consistent read view of the store as of the last
	// completed Commit. It stays valid, unaffected by later commits, until
	// Release. A Snapshot is not safe for concurrent use; open one per
	// goroutine. On bbolt an open snapshot pins the pages it sees, so hold it
	// only as long as a query runs.
	Snapshot() (Snapshot, error)

	// Commit applies the batch atomically: after it returns nil, every
	// snapshot opened afterwards sees all of its operations, and a crash
	// loses none of them (unless the store was opened without sync).
	// Operations apply in order, so a later Put of a key overrides an
	// earlier Delete of it. The store does not keep references to the
	// batch's slices after Commit returns.
	//
	// An error that wraps [ErrRejected] or [ErrClosed] means that nothing
	// was written. Any other error leaves the outcome unknown: the batch
	// may or may not be applied, on disk or only in memory (written but not
	// synced when an fsync failed), and later snapshots may or may not see
	// it. The caller must then stop writing; reopening the store recovers
	// the state that reached the disk.
	Commit(b *Batch) error

	// Close waits for a running Commit, then releases the store. Snapshots
	// still open are invalidated (their methods return ErrClosed; on bbolt
	// Close waits for them to be released, so release them first). Close is
	// idempotent.
	Close() error
}

// Snapshot is a read view of a Store at one point in time. It may also
// implement [MemoSnapshot], and its iterators [MemoIterator] (see the
// package doc); callers must work the same without them.
type Snapshot interface {
	// Get returns the value stored at key and true, or nil and false when
	// the key is absent. The returned slice is only valid until Release; copy
	// it to keep it.
	Get(key []byte) (value []byte, ok bool, err error)

	// Iter returns an iterator over the keys in [start, end): start nil
	// means from the first key, end nil means to the last key. When reverse
	// is true the same interval is walked from its highest key down. The
	// iterator is positioned before its first entry; call Next.
	Iter(start, end []byte, reverse bool) Iterator

	// Release ends the snapshot. Iterators opened on it become invalid.
	// Release is idempotent.
	Release()
}

// Iterator walks an interval of a Snapshot in key order.
type Iterator interface {
	// Next advances to the next entry and reports whether there is one.
	Next() bool
	// Key returns the current key, valid until the next call to Next.
	Key() []byte
	// Value returns the current value, valid until the next call to Next.
	Value() []byte
	// Err returns the error that stopped the iteration, if any.
	Err() error
	// Close releases the iterator. It is idempotent.
	Close()
}

// Op is one write of a Batch.
type Op struct {
	Key    []byte
	Value  []byte // ignored when Delete is true
	Delete bool

	// Memo, when not nil, is what a store that keeps memos (memkv) stores
	// in the [Memo] of the version this Put writes, before any snapshot
	// sees the version, as a reader would store it later ([Memo.Store]);
	// the writer hands over what it already derived from the value, under
	// the same rules (see the package doc). When Bind is set and Memo
	// implements [MemoBinder], the store first gives it the version's
	// Memo. Other stores, and Deletes, ignore both.
	Memo any
	Bind bool
}

// Toucher is implemented by a memo value (see [Memo.Store]) that can
// read ahead what a reader of it will read: a store's iterator calls
// Touch on the memos of the entries it has buffered, in one loop, before
// the caller reads them one by one, so that their cache misses overlap
// instead of following each other. The result means nothing; it only
// keeps the loads from being optimised away.
type Toucher interface {
	Touch() uintptr
}

// MemoBinder is implemented by an [Op.Memo] that must know the Memo of the
// version it is stored with (livedb's decoded document, which index
// entries use to check that the version they led to is current).
type MemoBinder interface {
	BindMemo(m *Memo)
}

// Batch is an ordered list of writes applied atomically by Store.Commit.
type Batch struct {
	Ops []Op
}

// Put appends a write of value at key.
func (b *Batch) Put(key, value []byte) { b.Ops = append(b.Ops, Op{Key: key, Value: value}) }

// PutMemo appends a write of value at key whose version's memo starts out
// holding memo (see [Op.Memo]); bind sets [Op.Bind].
func (b *Batch) PutMemo(key, value []byte, memo any, bind bool) {
	b.Ops = append(b.Ops, Op{Key: key, Value: value, Memo: memo, Bind: bind})
}

// Delete appends a deletion of key. Deleting an absent key is not an error.
func (b *Batch) Delete(key []byte) { b.Ops = append(b.Ops, Op{Key: key, Delete: true}) }

// Len returns the number of operations.
func (b *Batch) Len() int { return len(b.Ops) }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.Ops = b.Ops[:0] }

// Memo is a slot attached to one committed version of one key's value, in a
// store that keeps committed values as immutable in-memory objects (memkv).
// A reader may keep there something derived from the value (livedb keeps
// the decoded document), for every later reader of the same version. The
// version's bytes never change, so neither does what is derived from them;
// what is stored must not be modified afterwards. The package doc states
// the whole contract.
//
// A Memo also knows the commits between which its version was current, so
// that a reader that holds a Memo it reached some other way (from the memo
// of another key) can ask [MemoSnapshot.Current] whether the version is the
// one its snapshot sees.
type Memo struct {
	born uint64        // sequence of the commit that wrote the version
	dead atomic.Uint64 // sequence of the commit that replaced or deleted it; 0 while current
	x    atomic.Value
}

// NewMemo returns the memo of a version written by commit number born.
func NewMemo(born uint64) *Memo { return &Memo{born: born} }

// Born returns the number of the commit that wrote the version.
func (m *Memo) Born() uint64 { return m.born }

// Init sets up a memo embedded in another value, as NewMemo does.
func (m *Memo) Init(born uint64) { m.born = born }

// Supersede records that commit number seq replaced or deleted the
// version, then tells what the memo holds, when it is a [Superseder].
// Only the store's writer calls it.
func (m *Memo) Supersede(seq uint64) {
	m.dead.Store(seq)
	superseded(m.x.Load())
}

// Superseder is implemented by a value stored in a memo that must know
// when its version stops being current: [Memo.Supersede] calls
// Superseded once the commit that replaced or deleted the version is
// recorded, and so does a [Memo.Store] or [Memo.CompareAndSwap] that
// stores it after that, so that a value stored while the version was
// being replaced is told too (Superseded may then run more than once).
// It must be quick: the store's writer calls it inside Commit.
type Superseder interface {
	Superseded()
}

// superseded calls x's Superseded when x is a Superseder.
func superseded(x any) {
	if s, ok := x.(Superseder); ok {
		s.Superseded()
	}
}

// CurrentAt reports whether the version is the one a snapshot taken after
// commit number seq (and before the next) sees.
func (m *Memo) CurrentAt(seq uint64) bool {
	if m.born > seq {
		return false
	}
	d := m.dead.Load()
	return d == 0 || d > seq
}

// Load returns what was stored, or nil.
func (m *Memo) Load() any { return m.x.Load() }

// Store keeps x, which must not be nil, for later readers of the version.
// Concurrent readers may both store; each must store something equivalent,
// and the last one stays. As with [atomic.Value], every Store to one Memo
// must use the same concrete type (it panics otherwise): a user of the
// extension stores one type in every memo (see the package doc). A pointer
// is stored without allocating.
func (m *Memo) Store(x any) {
	m.x.Store(x)
	if m.dead.Load() != 0 {
		superseded(x)
	}
}

// CompareAndSwap stores x when the memo holds old, as Store does, and
// reports whether it did: of concurrent readers that each derived a value
// from the one they found, one keeps its value and the others learn to
// use it.
func (m *Memo) CompareAndSwap(old, x any) bool {
	if !m.x.CompareAndSwap(old, x) {
		return false
	}
	if m.dead.Load() != 0 {
		superseded(x)
	}
	return true
}

// MemoSnapshot is implemented by the snapshots of stores that have a [Memo]
// per committed version (memkv). Callers find it with a type assertion and
// fall back to [Snapshot] without it.
type MemoSnapshot interface {
	Snapshot
	// GetMemo is Get that also returns the memo of the version found.
	GetMemo(key []byte) (value []byte, memo *Memo, ok bool, err error)
	// Current reports whether m is the memo of the version of its key that
	// this snapshot sees.
	Current(m *Memo) bool
	// Visible reports whether a version written by commit number born
	// ([Memo.Born]) is old enough for this snapshot to see: Current, for a
	// version known not to be replaced or deleted yet.
	Visible(born uint64) bool
}

// MemoIterator is implemented by the iterators of a [MemoSnapshot]. Their
// keys and values stay valid and unchanged for as long as the store is
// open (not only until the next call to Next).
type MemoIterator interface {
	Iterator
	// Memo returns the memo of the current entry's version.
	Memo() *Memo
}
