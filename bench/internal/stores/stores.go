// Package stores adapts each store under test to [workload.Store]: livedb
// on bbolt and in memory, raw bbolt with hand-maintained index buckets,
// go-memdb, bolthold and buntdb.
package stores

import (
	"fmt"
	"path/filepath"

	"github.com/tidwall/buntdb"

	"github.com/livedb-go/livedb/bench/internal/workload"
)

// Kind is one store under test.
type Kind struct {
	Name      string
	Durable   bool // keeps its data in a file (W7 applies)
	Watchable bool // implements workload.Watchable (W8)
	// Open opens a fresh store in dir. noSync relaxes durability, for
	// building the databases of W7 only; every measured write runs with
	// fsync on commit.
	Open func(dir string, noSync bool) (workload.Store, error)
	// Reopen opens the existing store in dir (W7).
	Reopen func(dir string) (workload.Store, error)
	// File is the database file in dir. The size on disk is that of
	// every file in dir (the file and what the store keeps beside it).
	File string
}

// Names of the stores, in report order.
const (
	LivedbBolt   = "livedb-bbolt"
	LivedbMemory = "livedb-memory"
	RawBolt      = "raw-bbolt"
	GoMemdb      = "go-memdb"
	Bolthold     = "bolthold"
	Buntdb       = "buntdb"
)

// LivedbMemoryTyped is livedb in memory through its typed API (Table[T])
// whatever -api says: the same store as LivedbMemory, whose writes encode
// a struct and whose reads (W3, W4, W5 and W8's subscriptions) decode into
// one. It comes right after LivedbMemory in report order.
const LivedbMemoryTyped = "livedb-memory-typed"

// All lists every store, in report order.
var All = []Kind{
	{
		Name: LivedbBolt, Durable: true, Watchable: true, File: "livedb.db",
		Open: func(dir string, noSync bool) (workload.Store, error) {
			return openLivedbBolt(filepath.Join(dir, "livedb.db"), noSync)
		},
		Reopen: func(dir string) (workload.Store, error) {
			return openLivedbBolt(filepath.Join(dir, "livedb.db"), false)
		},
	},
	{
		Name: LivedbMemory, Watchable: true,
		Open: func(string, bool) (workload.Store, error) { return openLivedbMemory(LivedbAPI == "typed") },
	},
	{
		Name: LivedbMemoryTyped, Watchable: true,
		Open: func(string, bool) (workload.Store, error) { return openLivedbMemory(true) },
	},
	{
		Name: RawBolt, Durable: true, Watchable: true, File: "raw.db",
		Open: func(dir string, noSync bool) (workload.Store, error) {
			return openRawBolt(filepath.Join(dir, "raw.db"), noSync)
		},
		Reopen: func(dir string) (workload.Store, error) {
			return openRawBolt(filepath.Join(dir, "raw.db"), false)
		},
	},
	{
		Name: GoMemdb, Watchable: true,
		Open: func(string, bool) (workload.Store, error) { return openMemdb() },
	},
	{
		Name: Bolthold, Durable: true, File: "bolthold.db",
		Open: func(dir string, noSync bool) (workload.Store, error) {
			return openBolthold(filepath.Join(dir, "bolthold.db"), noSync)
		},
		Reopen: func(dir string) (workload.Store, error) {
			return openBolthold(filepath.Join(dir, "bolthold.db"), false)
		},
	},
	{
		Name: Buntdb, Durable: true, File: "bunt.db",
		Open: func(dir string, noSync bool) (workload.Store, error) {
			var policy buntdb.SyncPolicy = buntdb.Always
			if noSync {
				policy = buntdb.Never
			}
			return openBuntdb(filepath.Join(dir, "bunt.db"), policy)
		},
		Reopen: func(dir string) (workload.Store, error) {
			return openBuntdb(filepath.Join(dir, "bunt.db"), buntdb.Always)
		},
	},
}

// Lookup returns the store named name.
func Lookup(name string) (Kind, error) {
	for _, k := range All {
		if k.Name == name {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("unknown store %q", name)
}
