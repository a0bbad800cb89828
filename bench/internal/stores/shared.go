package stores

import (
	"context"

	"github.com/livedb-go/livedb"
)

// Livedb is livedb under the workload, opened with any path [livedb.Open]
// takes: a bbolt file, or the postgres:// URL of a shared database. The
// shared-PostgreSQL benchmarks (cmd/sbench) use it to run the same
// operations in several processes.
type Livedb struct {
	*lvStore
}

// OpenLivedb opens livedb at path with the workload's schema and opts.
func OpenLivedb(path string, opts *livedb.Options) (*Livedb, error) {
	db, err := livedb.Open(path, lvSchema(), opts)
	if err != nil {
		return nil, err
	}
	return &Livedb{&lvStore{db: db, ctx: context.Background(), typed: LivedbAPI == "typed"}}, nil
}

// DB returns the underlying database.
func (l *Livedb) DB() *livedb.DB { return l.db }
