package livedb

import (
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// openFileStore opens the store of a database file: bbolt behind a
// write-ahead log and an in-memory overlay (walkv). A commit is one
// appended, checksummed log record and one fdatasync; bbolt is written only
// by synced checkpoints, so the file is always a consistent checkpoint and
// the log holds every commit after it. Its errors are bboltkv's for the
// file (ErrLocked, ErrNotDatabase, ErrCorrupt) and walkv.ErrCorrupt, which
// also wraps bboltkv.ErrCorrupt, for a damaged log. ckpt, if not nil, sets
// the checkpoint settings (tests make checkpoints frequent); nil means
// walkv's defaults.
func openFileStore(path string, o Options, ckpt *walkv.Options) (kv.Store, error) {
	var wo walkv.Options
	if ckpt != nil {
		wo = *ckpt
	}
	wo.Timeout, wo.NoSync, wo.ReadOnly, wo.InitialMmapSize = o.Timeout, o.NoSync, o.ReadOnly, bboltMmapSize
	return walkv.Open(path, &wo)
}
