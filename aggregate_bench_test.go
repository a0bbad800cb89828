package livedb_test

import (
	"context"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

// BenchmarkQueryCount compares, on 100,000 tasks of which 50,000 are in
// workflow w0, three ways to count that half: Count on the index with an
// aggregate (one row read), Count on an index without one (50,000 keys
// read, no document), and Collect of the range (50,000 documents decoded).
// Sum on the aggregate is measured too. Memory backend; the limits are
// raised so that Collect may read 50,000 documents.
func BenchmarkQueryCount(b *testing.B) {
	db := livedbtest.NewOptions(b, aggSchema(), &livedb.Options{Limits: livedb.Limits{DocumentsRead: 200_000, BytesRead: 1 << 30}})
	const total, batch = 100_000, 10_000
	for start := 0; start < total; start += batch {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for i := start; i < start+batch; i++ {
				doc := livedb.Doc{"wf": []string{"w0", "w1"}[i%2], "status": string(rune('a' + i%4)), "cost": float64(i % 10), "tokens": int64(i % 100)}
				if _, err := m.DB.Insert("tasks", doc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	w0 := func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w0") }
	run := func(b *testing.B, want int, fn func(r *livedb.Reader) (int, error)) {
		b.ReportAllocs()
		for b.Loop() {
			err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
				n, err := fn(q.DB)
				if err == nil && n != want {
					b.Fatalf("got %d, want %d", n, want)
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("aggregate", func(b *testing.B) {
		run(b, total/2, func(r *livedb.Reader) (int, error) {
			n, err := r.Query("tasks").WithIndex("by_wf_status", w0).Count()
			return int(n), err
		})
	})
	b.Run("aggregate_sum", func(b *testing.B) {
		run(b, 200_000, func(r *livedb.Reader) (int, error) {
			s, err := r.Query("tasks").WithIndex("by_wf_status", w0).Sum("cost")
			return int(s), err
		})
	})
	b.Run("keys", func(b *testing.B) {
		run(b, total/2, func(r *livedb.Reader) (int, error) {
			n, err := r.Query("tasks").WithIndex("by_wf", w0).Count()
			return int(n), err
		})
	})
	b.Run("collect", func(b *testing.B) {
		run(b, total/2, func(r *livedb.Reader) (int, error) {
			docs, err := r.Query("tasks").WithIndex("by_wf_status", w0).Collect()
			return len(docs), err
		})
	})
}
