package memkv

import "errors"

// Errors of Commit.
var (
	// ErrEmptyKey is returned by [Store.Commit] when an operation of the
	// batch has an empty key.
	ErrEmptyKey = errors.New("memkv: empty key")

	// ErrKeyTooLarge is returned by [Store.Commit] when an operation of the
	// batch has a key longer than [MaxKeySize].
	ErrKeyTooLarge = errors.New("memkv: key too large")
)

// Errors of snapshots.
var (
	// ErrReleased is returned by the methods of a snapshot, and of its
	// iterators, used after the snapshot was released.
	ErrReleased = errors.New("memkv: snapshot is released")
)
