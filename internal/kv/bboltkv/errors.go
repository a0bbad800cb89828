package bboltkv

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	berrors "go.etcd.io/bbolt/errors"
)

// The texts of this package's errors name no package (livedb, which shows
// them to its users, adds its own "livedb: " prefix), and name the file
// once: an error about the file is an *fs.PathError, "<op> <path>: <what
// went wrong>", so errors.As finds the path and errors.Is the cause.

// Errors of Open.
var (
	// ErrLocked is returned by Open when another process (or another Store
	// of this process) holds the file and Options.Timeout passed.
	ErrLocked = errors.New("database file is locked by another process")

	// ErrNotDatabase is returned by Open when the file is not a bbolt
	// database: random bytes, text, a bbolt file of another format version,
	// or a file too short to hold the two meta pages.
	ErrNotDatabase = errors.New("not a bbolt file")
)

// Errors of Open, Commit, Check and of reads.
var (
	// ErrCorrupt is returned when the file is a bbolt database but damaged:
	// both meta pages fail their checksum, the file is shorter than its
	// header says (truncated), bbolt panicked or faulted while reading it,
	// or Check found an inconsistency. Close the store after it.
	ErrCorrupt = errors.New("database file is corrupt")
)

// Errors of Commit.
var (
	// ErrReadOnly is returned by Commit on a store opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("store is read-only")

	// ErrEmptyKey is returned by Commit when an operation has an empty key.
	ErrEmptyKey = errors.New("empty key")

	// ErrKeyTooLarge is returned by Commit when an operation has a key
	// longer than MaxKeySize.
	ErrKeyTooLarge = errors.New("key too large")

	// ErrValueTooLarge is returned by Commit when an operation has a value
	// longer than MaxValueSize.
	ErrValueTooLarge = errors.New("value too large")
)

// Errors of snapshots.
var (
	// ErrReleased is returned by the methods of a snapshot, and of its
	// iterators, used after the snapshot was released.
	ErrReleased = errors.New("snapshot is released")
)

// openError turns an error of bbolt.Open into one of ours, keeping bbolt's
// error in the chain: "open <path>: <what went wrong>".
func openError(path string, o *Options, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return pathError("open", path, fmt.Errorf("%w (waited %v)", ErrLocked, o.Timeout))
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
		return pathError("open", path, fmt.Errorf("%w: %w", ErrNotDatabase, err))
	case errors.Is(err, berrors.ErrChecksum):
		return pathError("open", path, fmt.Errorf("%w: %w", ErrCorrupt, err))
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotDatabase), errors.Is(err, ErrLocked):
		return err
	case strings.Contains(err.Error(), "file size too small"):
		// bbolt's check of a file shorter than its two meta pages has no
		// sentinel error.
		return pathError("open", path, fmt.Errorf("%w: %w", ErrNotDatabase, err))
	}
	return pathError("open", path, err)
}

// pathError returns err, an error of op on the file at path, as an
// *fs.PathError that names the path once: "<op> <path>: <err>". When err
// is itself an *fs.PathError of the os package for the same file (such as
// "read /x/y.db: is a directory"), its cause takes its place, after its op
// when that differs ("open /x/y.db: read: is a directory"), so that
// errors.Is still finds the cause (fs.ErrNotExist, syscall.ENOSPC, ...).
// An err that wraps such an error deeper already names the file, and is
// returned as it is.
func pathError(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		if err != error(pe) {
			return err
		}
		err = pe.Err
		if pe.Op != op {
			err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
		}
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// panicError turns a value recovered from a bbolt panic (or a memory fault
// made a panic by debug.SetPanicOnFault) into an ErrCorrupt error.
func panicError(path, op string, r any) error {
	if err, ok := r.(error); ok {
		return pathError(op, path, fmt.Errorf("%w: bbolt panicked: %w", ErrCorrupt, err))
	}
	return pathError(op, path, fmt.Errorf("%w: bbolt panicked: %v", ErrCorrupt, r))
}
