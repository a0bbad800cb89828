package livedb

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// memLog is a shared log in memory, for the engine's tests of the log
// seam without a PostgreSQL server: several DBs of one test process open
// it as several processes open one PostgreSQL database.
type memLog struct {
	lockMu  sync.Mutex // held from lock to commit or rollback: the clock row's lock
	mu      sync.Mutex // guards the fields below
	entries []logEntry
	state   map[string][]byte
	head    uint64
	trimmed uint64 // entries at or before it are gone
	waiters []chan struct{}
	failing error // when set, every call fails with it
	leases  map[string]memLease
}

func newMemLog() *memLog { return &memLog{state: map[string][]byte{}} }

func (l *memLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failing = err
}

// after returns the entries after ts; the caller holds mu.
func (l *memLog) after(ts uint64) ([]logEntry, error) {
	if l.failing != nil {
		return nil, l.failing
	}
	if ts < l.trimmed {
		return nil, errLogTrimmed
	}
	i, _ := slices.BinarySearchFunc(l.entries, ts+1, func(e logEntry, t uint64) int {
		return int(int64(e.ts - t))
	})
	out := slices.Clone(l.entries[i:])
	if len(out) > 0 && out[0].prev != ts {
		return nil, errLogTrimmed
	}
	return out, nil
}

type memAppend struct {
	l    *memLog
	done bool
	h    uint64
}

func (l *memLog) lock(ctx context.Context, after uint64) (sharedAppend, []logEntry, error) {
	l.lockMu.Lock()
	l.mu.Lock()
	defer l.mu.Unlock()
	out, err := l.after(after)
	if err != nil {
		l.lockMu.Unlock()
		return nil, nil, err
	}
	return &memAppend{l: l, h: l.head}, out, nil
}

func (a *memAppend) head() uint64 { return a.h }

func (a *memAppend) commit(ctx context.Context, e logEntry, state []kv.Op) error {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing != nil {
		return l.failing
	}
	if e.prev != l.head || e.ts <= l.head {
		return fmt.Errorf("memLog: entry %d after %d appended at head %d", e.ts, e.prev, l.head)
	}
	l.entries = append(l.entries, logEntry{ts: e.ts, prev: e.prev, nonce: bytes.Clone(e.nonce), data: bytes.Clone(e.data)})
	for _, op := range state {
		if op.Delete {
			delete(l.state, string(op.Key))
		} else {
			l.state[string(op.Key)] = bytes.Clone(op.Value)
		}
	}
	l.head = e.ts
	for _, w := range l.waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	a.done = true
	l.lockMu.Unlock()
	return nil
}

func (a *memAppend) rollback() {
	if !a.done {
		a.done = true
		a.l.lockMu.Unlock()
	}
}

func (l *memLog) since(ctx context.Context, after uint64) ([]logEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.after(after)
}

func (l *memLog) bootstrap(ctx context.Context, fn func(key, value []byte) error) (uint64, error) {
	l.mu.Lock()
	if l.failing != nil {
		defer l.mu.Unlock()
		return 0, l.failing
	}
	keys := make([]string, 0, len(l.state))
	for k := range l.state {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = l.state[k]
	}
	head := l.head
	l.mu.Unlock()
	for i, k := range keys {
		if err := fn([]byte(k), vals[i]); err != nil {
			return 0, err
		}
	}
	return head, nil
}

func (l *memLog) trim(ctx context.Context, before uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.entries)-1 && l.entries[i].ts < before {
		l.trimmed = l.entries[i].ts
		i++
	}
	l.entries = slices.Clone(l.entries[i:])
	return nil
}

func (l *memLog) notify() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Each DB calls notify from its committer's loop; one channel per
	// caller goroutine is simplest kept as one channel per DB (see open).
	c := make(chan struct{}, 1)
	l.waiters = append(l.waiters, c)
	return c
}

func (l *memLog) id() string { return "memlog" }
func (l *memLog) close()     {}

// memLogView gives each DB its own notification channel on a shared
// memLog.
type memLogView struct {
	*memLog
	ch <-chan struct{}
}

func (v *memLogView) notify() <-chan struct{} { return v.ch }

// openOnMemLog opens a DB as a process of the shared database l, with a
// copy in memory.
func openOnMemLog(t testing.TB, l *memLog, schema *Schema, opts *Options) *DB {
	t.Helper()
	db, err := openMemLog(l, memkv.New(), schema, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openMemLog(l *memLog, store kv.Store, schema *Schema, opts *Options) (*DB, error) {
	o := opts.withDefaults()
	return openShared(context.Background(), &memLogView{memLog: l, ch: l.notify()}, store, "", schema, o)
}

type memLease struct {
	holder  string
	expires time.Time
}

func (l *memLog) tryLease(ctx context.Context, role, holder string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing != nil {
		return false, l.failing
	}
	if l.leases == nil {
		l.leases = map[string]memLease{}
	}
	now := time.Now()
	cur, ok := l.leases[role]
	if ok && cur.holder != holder && now.Before(cur.expires) {
		return false, nil
	}
	l.leases[role] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

func (l *memLog) releaseLease(ctx context.Context, role, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.leases[role]; ok && cur.holder == holder {
		delete(l.leases, role)
	}
	return nil
}
