package bboltkv

import (
	"errors"
	"fmt"
	"strings"

	berrors "go.etcd.io/bbolt/errors"
)

// Errors of Open.
var (
	// ErrLocked is returned by Open when another process (or another Store
	// of this process) holds the file and Options.Timeout passed.
	ErrLocked = errors.New("bboltkv: database file is locked by another process")

	// ErrNotDatabase is returned by Open when the file is not a bbolt
	// database: random bytes, text, a bbolt file of another format version,
	// or a file too short to hold the two meta pages.
	ErrNotDatabase = errors.New("bboltkv: file is not a bbolt database")
)

// Errors of Open, Commit, Check and of reads.
var (
	// ErrCorrupt is returned when the file is a bbolt database but damaged:
	// both meta pages fail their checksum, the file is shorter than its
	// header says (truncated), bbolt panicked or faulted while reading it,
	// or Check found an inconsistency. Close the store after it.
	ErrCorrupt = errors.New("bboltkv: database file is corrupt")
)

// Errors of Commit.
var (
	// ErrReadOnly is returned by Commit on a store opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("bboltkv: store is read-only")

	// ErrEmptyKey is returned by Commit when an operation has an empty key.
	ErrEmptyKey = errors.New("bboltkv: empty key")

	// ErrKeyTooLarge is returned by Commit when an operation has a key
	// longer than MaxKeySize.
	ErrKeyTooLarge = errors.New("bboltkv: key too large")

	// ErrValueTooLarge is returned by Commit when an operation has a value
	// longer than MaxValueSize.
	ErrValueTooLarge = errors.New("bboltkv: value too large")
)

// Errors of snapshots.
var (
	// ErrReleased is returned by the methods of a snapshot, and of its
	// iterators, used after the snapshot was released.
	ErrReleased = errors.New("bboltkv: snapshot is released")
)

// openError turns an error of bbolt.Open into one of ours, keeping bbolt's
// error in the chain.
func openError(path string, o *Options, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, o.Timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("%w: %s: %w", ErrNotDatabase, path, err)
	case errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotDatabase), errors.Is(err, ErrLocked):
		return err
	case strings.Contains(err.Error(), "file size too small"):
		// bbolt's check of a file shorter than its two meta pages has no
		// sentinel error.
		return fmt.Errorf("%w: %s: %w", ErrNotDatabase, path, err)
	}
	return fmt.Errorf("bboltkv: open %s: %w", path, err)
}

// panicError turns a value recovered from a bbolt panic (or a memory fault
// made a panic by debug.SetPanicOnFault) into an ErrCorrupt error.
func panicError(path, op string, r any) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("%w: %s: %s: bbolt panicked: %w", ErrCorrupt, path, op, err)
	}
	return fmt.Errorf("%w: %s: %s: bbolt panicked: %v", ErrCorrupt, path, op, r)
}
