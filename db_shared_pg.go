package livedb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/internal/pglog"
)

// isDSN says whether Open's path is a PostgreSQL connection URL.
func isDSN(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

// sharedOpenTimeout bounds Open of a shared database: connecting, loading
// the copy, catching up and applying the schema.
const sharedOpenTimeout = 2 * time.Minute

// openDSN is Open of a shared database (see Open).
func openDSN(dsn string, schema *Schema, o Options) (*DB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedOpenTimeout)
	defer cancel()
	// A read-only process writes nothing to PostgreSQL, not even the
	// tables of a database that is not there yet.
	l, err := pglog.Open(ctx, dsn, &pglog.Options{NoCreate: o.ReadOnly})
	if err != nil {
		return nil, sharedErr("open the shared database", err)
	}
	var store kv.Store = memkv.New()
	if o.LocalCopy != "" {
		// The copy can be rebuilt from PostgreSQL: it is not synced.
		store, err = bboltkv.Open(o.LocalCopy, &bboltkv.Options{Timeout: o.Timeout, NoSync: true, InitialMmapSize: bboltMmapSize})
		if err != nil {
			l.Close()
			if errors.Is(err, bboltkv.ErrLocked) {
				return nil, fmt.Errorf("%w: local copy %s: another process uses it: give each process a copy of its own", ErrLocked, o.LocalCopy)
			}
			return nil, fmt.Errorf("livedb: local copy: %w", err)
		}
	}
	db, err := openShared(ctx, &pgSharedLog{l: l}, store, redactDSN(dsn), schema, o)
	if err != nil {
		_ = store.Close()
		l.Close()
		return nil, err
	}
	return db, nil
}

// redactDSN returns dsn without its password, for DB.Path and messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// pgSharedLog is internal/pglog as a sharedLog.
type pgSharedLog struct{ l *pglog.Log }

// sharedChunk is how many entries a follower reads at a time.
const sharedChunk = 1000

// sharedErr maps internal/pglog's errors to livedb's.
func sharedErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pglog.ErrTrimmed):
		return fmt.Errorf("%w: %w", errLogTrimmed, err)
	case errors.Is(err, pglog.ErrOutcomeUnknown):
		return fmt.Errorf("%w: %s: %w", ErrOutcomeUnknown, op, err)
	case errors.Is(err, pglog.ErrUnavailable):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	case errors.Is(err, pglog.ErrFormat):
		return fmt.Errorf("%w: %s: %w", ErrNotLivedb, op, err)
	}
	return fmt.Errorf("livedb: %s: %w", op, err)
}

func entries(es []pglog.Entry) []logEntry {
	out := make([]logEntry, len(es))
	for i, e := range es {
		out[i] = logEntry{ts: e.TS, prev: e.Prev, nonce: e.Nonce, data: e.Data}
	}
	return out
}

func (p *pgSharedLog) lock(ctx context.Context, after uint64) (sharedAppend, []logEntry, error) {
	a, es, err := p.l.Lock(ctx, after)
	if err != nil {
		return nil, nil, sharedErr("lock the shared log", err)
	}
	return pgAppend{a}, entries(es), nil
}

func (p *pgSharedLog) since(ctx context.Context, after uint64) ([]logEntry, error) {
	es, err := p.l.Since(ctx, after, sharedChunk)
	return entries(es), sharedErr("read the shared log", err)
}

func (p *pgSharedLog) bootstrap(ctx context.Context, fn func(key, value []byte) error) (uint64, error) {
	head, err := p.l.Bootstrap(ctx, fn)
	return head, sharedErr("load the shared state", err)
}

func (p *pgSharedLog) trim(ctx context.Context, before uint64) error {
	_, err := p.l.Trim(ctx, before)
	return sharedErr("trim the shared log", err)
}

func (p *pgSharedLog) tryLease(ctx context.Context, role, holder string, ttl time.Duration) (bool, error) {
	held, _, err := p.l.TryLease(ctx, role, holder, ttl)
	return held, sharedErr("take a lease", err)
}

func (p *pgSharedLog) releaseLease(ctx context.Context, role, holder string) error {
	return sharedErr("release a lease", p.l.ReleaseLease(ctx, role, holder))
}

func (p *pgSharedLog) notify() <-chan struct{} { return p.l.Notify() }
func (p *pgSharedLog) id() string              { return p.l.ID() }
func (p *pgSharedLog) close()                  { p.l.Close() }

type pgAppend struct{ a *pglog.Appender }

func (p pgAppend) head() uint64 { return p.a.Head() }
func (p pgAppend) rollback()    { p.a.Rollback() }
func (p pgAppend) commit(ctx context.Context, e logEntry, state []kv.Op) error {
	err := p.a.Commit(ctx, pglog.Entry{TS: e.ts, Prev: e.prev, Nonce: e.nonce, Data: e.data}, state)
	return sharedErr("commit to the shared log", err)
}
