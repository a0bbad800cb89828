package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

// BenchmarkQuerySearch measures a text search (two terms, the last a
// prefix, Take(10)) over 100,000 documents of 20 words drawn from a
// 5,000-word vocabulary with Zipf frequencies, on the memory backend;
// "filtered" adds an equality filter on a field with three values.
func BenchmarkQuerySearch(b *testing.B) {
	db := livedbtest.New(b, searchSchema())
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.1, 1, 4999)
	word := func() string { return fmt.Sprintf("w%d", zipf.Uint64()) }
	const n = 100_000
	for done := 0; done < n; {
		if err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for i := range 5000 {
				words := make([]string, 20)
				for j := range words {
					words[j] = word()
				}
				if _, err := m.DB.Insert("notes", livedb.Doc{"body": strings.Join(words, " "), "status": []string{"todo", "done", "failed"}[(done+i)%3]}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		done += 5000
	}
	for _, bc := range []struct {
		name string
		text string
		eqs  map[string]any
	}{
		{"rare", "w3000 w41", nil},
		{"common", "w1 w2", nil},
		{"filtered", "w3000 w41", map[string]any{"status": "done"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					docs, err := searchNotes(q.DB, bc.text, bc.eqs).Take(10)
					if err == nil && len(docs) == 0 {
						err = fmt.Errorf("no results for %q", bc.text)
					}
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
