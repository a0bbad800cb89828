package pglog_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb/internal/pglog"
	"github.com/livedb-go/livedb/internal/pgtest"
)

// BenchmarkAppenderCommit measures one append on the unix socket: Lock
// (BEGIN, lock the clock row, read the entries after the head), then
// Commit of an entry of 200 bytes with ops puts of 100-byte values (one
// round trip, then COMMIT). One b.Loop iteration is one append.
//
// fsync=on runs on the test binary's cluster, where COMMIT waits for the
// WAL flush (the pgtest default); fsync=off on a second cluster started
// with fsync off, so that the difference is the cost of the flush on this
// machine's disk.
func BenchmarkAppenderCommit(b *testing.B) {
	for _, fsync := range []bool{true, false} {
		for _, ops := range []int{1, 100} {
			b.Run(fmt.Sprintf("fsync=%s/ops=%d", onOff(fsync), ops), func(b *testing.B) {
				dsn := benchDSN(b, fsync)
				benchCommit(b, mustOpen(b, dsn), ops)
			})
		}
	}
}

func onOff(v bool) string {
	if v {
		return "on"
	}
	return "off"
}

// noFsync is the benchmarks' cluster with fsync off, started on first use
// and closed by TestMain.
var noFsync *pgtest.Cluster

// benchDSN returns a fresh database on the test binary's cluster (fsync
// on) or on a cluster with fsync off.
func benchDSN(b *testing.B, fsync bool) string {
	c := pgtest.Require(b)
	if fsync {
		return c.NewDatabase(b)
	}
	if c.External() {
		b.Skip("fsync=off needs the binaries to start a cluster")
	}
	if noFsync == nil {
		b.Setenv(pgtest.URLEnv, "")
		var err error
		if noFsync, err = pgtest.Start(&pgtest.Options{NoFsync: true}); err != nil {
			b.Fatal(err)
		}
	}
	return noFsync.NewDatabase(b)
}

func benchCommit(b *testing.B, l *pglog.Log, ops int) {
	ctx := testCtx(b)
	value := make([]byte, 100)
	data := make([]byte, 200)
	batch := make([]pglog.Op, ops)
	var head uint64
	b.ReportAllocs()
	for b.Loop() {
		a, _, err := l.Lock(ctx, head)
		if err != nil {
			b.Fatal(err)
		}
		for i := range batch {
			key := binary.BigEndian.AppendUint64([]byte("tbl/"), head*uint64(ops)+uint64(i))
			batch[i] = pglog.Op{Key: key, Value: value}
		}
		e := pglog.Entry{TS: head + 1, Prev: head, Nonce: nonce(), Data: data}
		if err := a.Commit(ctx, e, batch); err != nil {
			a.Rollback()
			b.Fatal(err)
		}
		head = e.TS
	}
}
