package memkv

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// FuzzTree_Ops commits batches the fuzzer's bytes describe and checks,
// after each, the tree's structure, every read of the new snapshot, and
// that the snapshots kept from earlier commits still read what they read
// then. Each byte is one operation on a keyspace of 512 keys (bit 7: put
// or delete; 0xFF ends the batch), and a run of one key repeated 130 times
// (the third argument) fills whole nodes, so that splits, borrows and
// merges happen at every depth the inputs reach.
func FuzzTree_Ops(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0xFF, 0x81, 0x82, 0xFF, 4}, uint16(7), uint8(3))
	f.Add(slices.Repeat([]byte{0x10, 0x90, 0xFF}, 30), uint16(300), uint8(130))
	f.Fuzz(func(t *testing.T, ops []byte, base uint16, fill uint8) {
		runFuzzOps(t, fuzzOps{
			ops: ops, base: int(base), seed: uint64(fill), fill: int(fill), stride: 4, keep: 8,
			key:   func(i int) string { return treeKey(rand.New(rand.NewPCG(uint64(i), 0)), 1<<16) },
			val:   func(i int) string { return "f" + strconv.Itoa(i) },
			check: func(t *testing.T, rng *rand.Rand, f frozen) { checkReads(t, rng, f) },
		})
	})
}

// fuzzOps is a run of the tree's fuzz targets: fill keys key(base),
// key(base+1), … put with val(i) and committed, then each byte of ops a
// put (bit 7 clear) or delete of key(base + (op&0x7F)*stride), 0xFF
// committing the batch. Every commit is checked against the reference
// model (commitChecked); check then reads the new snapshot and
// every snapshot kept from earlier commits (every third, at most keep).
type fuzzOps struct {
	ops                []byte
	base, fill, stride int
	seed               uint64 // with base, the seed of check's reads
	keep               int
	key                func(i int) string
	val                func(i int) string
	check              func(t *testing.T, rng *rand.Rand, f frozen)
}

func runFuzzOps(t *testing.T, r fuzzOps) {
	s := New()
	defer s.Close()
	m := &refModel{vals: map[string]string{}}
	rng := rand.New(rand.NewPCG(uint64(r.base), r.seed))
	var snaps []frozen
	defer func() {
		for _, f := range snaps {
			f.sn.Release()
		}
	}()
	var b kv.Batch
	commit := func(n int) {
		f := commitChecked(t, s, &b, m, rng)
		r.check(t, rng, f)
		b.Reset()
		if n%3 == 0 && len(snaps) < r.keep {
			snaps = append(snaps, f)
		} else {
			f.sn.Release()
		}
		for _, old := range snaps {
			r.check(t, rng, old)
		}
	}
	for i := range r.fill {
		k := r.key(r.base + i)
		v := r.val(i)
		b.Put([]byte(k), []byte(v))
		m.put(k, v)
	}
	commit(0)
	n := 1
	for _, op := range r.ops {
		if op == 0xFF {
			commit(n)
			n++
			continue
		}
		k := r.key(r.base + int(op&0x7F)*r.stride)
		if op&0x80 != 0 {
			b.Delete([]byte(k))
			m.del(k)
			continue
		}
		v := "v" + strconv.Itoa(n)
		b.Put([]byte(k), []byte(v))
		m.put(k, v)
	}
	commit(n)
}
