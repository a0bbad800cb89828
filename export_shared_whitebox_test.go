package livedb

import "github.com/livedb-go/livedb/internal/kv/memkv"

// The black-box tests (package livedb_test) open shared databases on a log
// in memory through these.

// SharedMemLog is a shared log in memory: every DB opened on it with
// OpenSharedMemLog is one process of the same shared database.
type SharedMemLog struct{ l *memLog }

// NewSharedMemLog returns an empty shared log in memory.
func NewSharedMemLog() *SharedMemLog { return &SharedMemLog{l: newMemLog()} }

// OpenSharedMemLog opens another process of the shared database l, with a
// copy in memory.
func OpenSharedMemLog(l *SharedMemLog, schema *Schema, opts *Options) (*DB, error) {
	return openMemLog(l.l, memkv.New(), schema, opts)
}

// Trim trims l's entries before ts.
func (l *SharedMemLog) Trim(ts uint64) { _ = l.l.trim(nil, ts) }
