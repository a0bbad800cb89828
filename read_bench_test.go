package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
)

// qbSessionIDs holds the IDs of the dataset's sessions, per backend.
var qbSessionIDs sync.Map // backend -> []livedb.ID

// mustQBSessionIDs returns the IDs of the 100k sessions of a backend's
// dataset, in random order.
func mustQBSessionIDs(b *testing.B, backend string, ds *qbDataset) []livedb.ID {
	b.Helper()
	if ids, ok := qbSessionIDs.Load(backend); ok {
		return ids.([]livedb.ID)
	}
	var ids []livedb.ID
	err := ds.db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		for d, err := range q.DB.Query("agentSessions").All() {
			if err != nil {
				return err
			}
			ids = append(ids, d.ID())
		}
		return nil
	})
	if err != nil || len(ids) != qbSessions {
		b.Fatalf("listing the sessions: %d, %v", len(ids), err)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	qbSessionIDs.Store(backend, ids)
	return ids
}

// BenchmarkReaderGet reads one session by ID per query among the 100k of
// the query dataset, in random order (W3 of the benchmark suite). After the
// first 100k reads the memory backend serves every read from its decoded
// cache.
func BenchmarkReaderGet(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			ids := mustQBSessionIDs(b, backend, ds)
			i := 0
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				err := qbGetDoc(ctx, ds.db, ids[i%len(ids)])
				i++
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU reports, when the platform measures it, the process's CPU time
// per operation as the metric cpu-ns/op, from the call to the call of the
// function it returns. Use it as `defer reportCPU(b)()` just before the
// benchmark loop.
func reportCPU(b *testing.B) func() {
	start, ok := processCPUTime()
	return func() {
		end, ok2 := processCPUTime()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// qbGetDoc reads the session id with Reader.Get and checks its _id.
func qbGetDoc(ctx context.Context, db *livedb.DB, id livedb.ID) error {
	return db.Query(ctx, func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Get(id)
		if err == nil && (!ok || d.ID() != id) {
			err = fmt.Errorf("%s: got %v, %v", id, d.ID(), ok)
		}
		return err
	})
}

// qbGetTyped reads the session id with Table.Get and checks its _id.
func qbGetTyped(ctx context.Context, db *livedb.DB, id livedb.ID) error {
	ref := livedb.Ref[qbTypedSession](id)
	return db.Query(ctx, func(q *livedb.QueryCtx) error {
		s, ok, err := qbTypedSessions.Get(q.DB, ref)
		if err == nil && (!ok || s.ID != ref) {
			err = fmt.Errorf("%s: got %v, %v", id, s.ID, ok)
		}
		return err
	})
}
