package memkv

import "errors"

// The texts of this package's errors name no package: livedb, which shows
// them to its users, adds its own "livedb: " prefix.

// Errors of Commit.
var (
	// ErrEmptyKey is returned by [Store.Commit] when an operation of the
	// batch has an empty key.
	ErrEmptyKey = errors.New("empty key")

	// ErrKeyTooLarge is returned by [Store.Commit] when an operation of the
	// batch has a key longer than [MaxKeySize].
	ErrKeyTooLarge = errors.New("key too large")
)

// Errors of snapshots.
var (
	// ErrReleased is returned by the methods of a snapshot, and of its
	// iterators, used after the snapshot was released.
	ErrReleased = errors.New("snapshot is released")
)
