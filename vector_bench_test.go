package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// BenchmarkReaderVectorSearch measures an exact search (top 10, no
// filter) over n documents of d dimensions in memory: how far exact
// search goes at interactive speed.
func BenchmarkReaderVectorSearch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, d := range []int{128, 768} {
			b.Run(fmt.Sprintf("n=%d/dims=%d", n, d), func(b *testing.B) {
				benchVectorSearch(b, benchVectorDB(b, n, d, livedbtest.New(b, benchVectorSchema(d))), d)
			})
		}
	}
}

// BenchmarkReaderVectorSearch_Bbolt is BenchmarkReaderVectorSearch at
// 100k × 768 on a bbolt file, whose iteration reads keys in place from
// the memory-mapped file.
func BenchmarkReaderVectorSearch_Bbolt(b *testing.B) {
	const n, d = 100_000, 768
	db, err := livedb.Open(filepath.Join(b.TempDir(), "bench.db"), benchVectorSchema(d), &livedb.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	benchVectorSearch(b, benchVectorDB(b, n, d, db), d)
}

// benchVectorSearch times searches (top 10, no filter) of a random
// vector of d dimensions in db.
func benchVectorSearch(b *testing.B, db *livedb.DB, d int) {
	r := rand.New(rand.NewPCG(7, 8))
	q := make([]float64, d)
	for i := range q {
		q[i] = r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		err := db.Query(context.Background(), func(qc *livedb.QueryCtx) error {
			res, err := qc.DB.VectorSearch("memories", "by_embedding", q, livedb.VectorSearchOptions{})
			if err == nil && len(res) != 10 {
				err = fmt.Errorf("%d results", len(res))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchVectorSchema is a table of memories with a vector index of d
// dimensions filtered by kind.
func benchVectorSchema(d int) *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{"memories": livedb.DefineTable(v.Object(v.Fields{
		"kind":      v.String(),
		"embedding": v.Array(v.Float64()),
	})).VectorIndex("by_embedding", "embedding", d, "kind")})
}

// benchVectorDB fills db (opened with benchVectorSchema(d)) with n
// memories with random vectors of d dimensions, and returns it.
func benchVectorDB(b *testing.B, n, d int, db *livedb.DB) *livedb.DB {
	r := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	for done := 0; done < n; {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for i := 0; i < 1000 && done+i < n; i++ {
				vec := make([]any, d)
				for j := range vec {
					vec[j] = r.NormFloat64()
				}
				if _, err := m.DB.Insert("memories", livedb.Doc{"kind": vecKinds[i%len(vecKinds)], "embedding": vec}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += 1000
	}
	return db
}
