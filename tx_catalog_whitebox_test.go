package livedb

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Creating tables must never commit while the mutation holds its snapshot:
// on bbolt, a commit that grows the file past its memory map waits for
// every read transaction to end, its own mutation's included. With bbolt's
// smallest first map (32 KiB) and a catalog that grows with every table,
// the file crosses several map sizes.
func TestMutation_CreateTables_SmallMmap_NoDeadlock(t *testing.T) {
	defer func(n int) { bboltMmapSize = n }(bboltMmapSize)
	bboltMmapSize = -1 // bbolt's own minimum
	db, err := Open(filepath.Join(t.TempDir(), "small.db"), nil, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	done := make(chan error, 1)
	go func() {
		for i := range n {
			err := db.Mutation(context.Background(), func(m *MutationCtx) error {
				if _, _, err := m.DB.Query("t0").First(); err != nil {
					return err
				}
				name := fmt.Sprintf("t_%04d_%s", i, strings.Repeat("x", 50))
				_, err := m.DB.Insert(name, Doc{"i": float64(i)})
				return err
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("creating tables did not finish in 60s: a catalog commit waits for the mutation's own snapshot")
	}
	stats, err := db.TableStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != n {
		t.Fatalf("%d tables, want %d", len(stats), n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
