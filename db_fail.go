package livedb

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/livedb-go/livedb/internal/kv"
)

// storageFailure is the storage commit error that stopped the database's
// writes (see ErrStorageFailed).
type storageFailure struct{ cause error }

// commitStore writes b to the store, unless writes are stopped. A storage
// error that leaves the commit's outcome unknown stops them (failClosed).
// Every storage commit of an open DB goes through it.
func (db *DB) commitStore(b *kv.Batch) error {
	if err := db.writesStopped(); err != nil {
		return err
	}
	if err := db.store.Commit(b); err != nil {
		return db.failClosed(err)
	}
	return nil
}

// failClosed handles an error of a storage commit. A batch the store
// rejected before writing anything, or a closed store, is an ordinary
// error, returned as it is. Any other error leaves the outcome unknown: the
// commit may have reached the disk, or may be visible to readers without
// being durable (an fsync failed after the write). Reporting it as a plain
// failure would let the caller retry a commit that happened, or believe one
// that vanishes at the next open, so failClosed stops every later write and
// returns an error wrapping ErrStorageFailed and cause. The first cause is
// kept; it is safe to call from any goroutine.
func (db *DB) failClosed(cause error) error {
	if errors.Is(cause, kv.ErrRejected) || errors.Is(cause, kv.ErrClosed) {
		return cause // the committer maps it with storeErr
	}
	if db.failure.CompareAndSwap(nil, &storageFailure{cause: cause}) {
		db.opts.Logger.Error("livedb: a storage commit failed; the database accepts no more writes until it is reopened",
			slog.String("path", db.path), slog.Any("error", cause))
	}
	return fmt.Errorf("%w: the outcome of this commit is unknown (it may or may not be on disk); the database accepts no more writes until it is reopened: %w",
		ErrStorageFailed, cause)
}

// writesStopped returns nil, or the error of every write after a storage
// failure: it wraps ErrStorageFailed and the storage error that caused it.
func (db *DB) writesStopped() error {
	f := db.failure.Load()
	if f == nil {
		return nil
	}
	return fmt.Errorf("%w: not committed: the database accepts no more writes since an earlier storage commit failed (reopen it to recover what reached the disk): %w",
		ErrStorageFailed, f.cause)
}
