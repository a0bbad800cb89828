package livedb

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/v"
)

// BenchmarkPrecache_FirstGet reads each of 20k documents once, by ID in
// random order (W3 of bench/: a version's first read), on a memory
// database loaded with the decodings kept at commit (on) or without
// (off, where a first read decodes the bytes). Run it with
// -benchtime=20000x so that every read is a first read: a database is
// loaded per run, outside the timer.
func BenchmarkPrecache_FirstGet(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "on", false: "off"}[on]
		b.Run(name, func(b *testing.B) {
			precacheWrites = on
			defer func() { precacheWrites = true }()
			s := DefineSchema(Tables{"sessions": DefineTable(v.Object(v.Fields{
				"workflowId": v.String(), "status": v.String(), "agentType": v.String(),
				"startedAt": v.Int64(), "input": v.String(), "output": v.String(),
			})).Index("by_workflow", "workflowId")})
			db, err := OpenMemory(s)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			const n = 20000
			ids := make([]ID, 0, n)
			out := strings.Repeat("o", 300)
			for i := 0; i < n; i += 1000 {
				if err := db.Mutation(ctx, func(m *MutationCtx) error {
					for j := range 1000 {
						id, err := m.DB.Insert("sessions", Doc{"workflowId": "wf" + string(rune('a'+(i+j)%26)), "status": "running",
							"agentType": "coder", "startedAt": int64(i + j), "input": "in", "output": out})
						if err != nil {
							return err
						}
						ids = append(ids, id)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			precacheWrites = true
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			if b.N > n {
				b.Fatalf("b.N %d: run with -benchtime=%dx or less, so that every read is a first read", b.N, n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := db.Query(ctx, func(q *QueryCtx) error {
					_, _, err := q.DB.Get(ids[i])
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
