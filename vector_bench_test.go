package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
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
				db := benchVectorDB(b, n, d)
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
			})
		}
	}
}

// benchVectorDB returns a memory database of n memories with random
// vectors of d dimensions.
func benchVectorDB(b *testing.B, n, d int) *livedb.DB {
	s := livedb.DefineSchema(livedb.Tables{"memories": livedb.DefineTable(v.Object(v.Fields{
		"kind":      v.String(),
		"embedding": v.Array(v.Float64()),
	})).VectorIndex("by_embedding", "embedding", d, "kind")})
	db := livedbtest.New(b, s)
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
