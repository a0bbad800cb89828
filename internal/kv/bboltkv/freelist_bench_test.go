package bboltkv

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/internal/kv"
)

// BenchmarkStoreCommitFreelist compares bbolt's two freelists (see
// freelistType) on a file whose freelist holds the pages of a last commit
// of 4,000 random writes (as livedb's files do after a bulk load: a few
// thousand pages) and on one whose freelist is large (three quarters of the
// keys deleted): Open, and one-key commits (without fsync, so that the
// freelist's work shows) at random places and at the end of the key space.
// free-pages/op is the freelist's size.
func BenchmarkStoreCommitFreelist(b *testing.B) {
	value := make([]byte, 400)
	for _, shape := range []string{"recent", "sparse"} {
		path := filepath.Join(b.TempDir(), "freelist.db")
		const keys = 200_000
		buildFreelistFile(b, path, keys, value, shape == "sparse")
		free := freePages(b, path)
		for _, ft := range []bolt.FreelistType{bolt.FreelistArrayType, bolt.FreelistMapType} {
			b.Run(fmt.Sprintf("freelist=%s/%s/op=open", shape, ft), func(b *testing.B) {
				withFreelistType(b, ft)
				b.ReportAllocs()
				for b.Loop() {
					s, err := Open(path, &Options{NoSync: true})
					if err != nil {
						b.Fatal(err)
					}
					if err := s.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(free), "free-pages/op")
			})
			for _, where := range []string{"random", "append"} {
				b.Run(fmt.Sprintf("freelist=%s/%s/op=commit-%s", shape, ft, where), func(b *testing.B) {
					withFreelistType(b, ft)
					s, err := Open(path, &Options{NoSync: true})
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					rng := rand.New(rand.NewPCG(1, 2))
					next := uint64(keys)
					b.ReportAllocs()
					for b.Loop() {
						k := next
						if where == "random" {
							k = rng.Uint64N(keys)
						} else {
							next++
						}
						var batch kv.Batch
						batch.Put(binary.BigEndian.AppendUint64([]byte("k"), k), value)
						if err := s.Commit(&batch); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(free), "free-pages/op")
				})
			}
		}
	}
}

// buildFreelistFile writes keys keys in commits of 1,000 and then, when
// sparse, deletes three in four of them in commits of 1,000, or else
// rewrites 4,000 random ones in one commit.
func buildFreelistFile(b *testing.B, path string, keys int, value []byte, sparse bool) {
	b.Helper()
	s, err := Open(path, &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	commit := func(from int, del bool) {
		var batch kv.Batch
		for k := from; k < min(keys, from+1000); k++ {
			key := binary.BigEndian.AppendUint64([]byte("k"), uint64(k))
			switch {
			case !del:
				batch.Put(key, value)
			case k%4 != 0:
				batch.Delete(key)
			}
		}
		if err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
	for k := 0; k < keys; k += 1000 {
		commit(k, false)
	}
	if sparse {
		for k := 0; k < keys; k += 1000 {
			commit(k, true)
		}
		return
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var batch kv.Batch
	for range 4000 {
		batch.Put(binary.BigEndian.AppendUint64([]byte("k"), rng.Uint64N(uint64(keys))), value)
	}
	if err := s.Commit(&batch); err != nil {
		b.Fatal(err)
	}
}

// freePages returns the size of the freelist of the file at path.
func freePages(b *testing.B, path string) int {
	b.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	return db.Stats().FreePageN
}

// withFreelistType makes Open use ft until the benchmark ends.
func withFreelistType(b *testing.B, ft bolt.FreelistType) {
	old := freelistType
	freelistType = ft
	b.Cleanup(func() { freelistType = old })
}
