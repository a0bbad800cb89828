package remote_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/remote"
)

// BenchmarkMutationToUpdate measures the latency from a mutation of one
// client to the update at another client's subscription: two remote
// Clients of one server on loopback, against two Local backends of one
// embedded database. The query (tasks:latest) reads one document, so
// the figures do not grow with the table. It reports the p50 and p99 of
// that latency.
func BenchmarkMutationToUpdate(b *testing.B) {
	b.Run("remote", func(b *testing.B) {
		db := mustOpenMemory(b)
		hs := MustServe(b, db)
		benchMutationToUpdate(b, MustDial(b, hs.URL, nil), MustDial(b, hs.URL, nil))
	})
	b.Run("local", func(b *testing.B) {
		db := mustOpenMemory(b)
		reg := mustRegistry(b)
		writer, reader := remote.Local(db, reg), remote.Local(db, reg)
		b.Cleanup(func() { _ = writer.Close(); _ = reader.Close() })
		benchMutationToUpdate(b, writer, reader)
	})
}

func benchMutationToUpdate(b *testing.B, writer, reader remote.Backend) {
	ctx := context.Background()
	sub, err := reader.Subscribe(ctx, "tasks:latest", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	mustNext(b, sub, "first result")
	var lat []time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		text := strconv.Itoa(n)
		start := time.Now()
		if _, _, err := writer.Mutation(ctx, "tasks:add", livedb.Doc{"text": text}); err != nil {
			b.Fatal(err)
		}
		mustWaitValue(b, sub, text, "the update")
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
