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
		s := New()
		defer s.Close()
		m := &refModel{vals: map[string]string{}}
		rng := rand.New(rand.NewPCG(uint64(base), uint64(fill)))
		key := func(i int) string {
			return treeKey(rand.New(rand.NewPCG(uint64(i), 0)), 1<<16)
		}
		var snaps []frozen
		defer func() {
			for _, f := range snaps {
				f.sn.Release()
			}
		}()
		var b kv.Batch
		commit := func(n int) {
			f := commitChecked(t, s, &b, m, rng)
			b.Reset()
			if n%3 == 0 && len(snaps) < 8 {
				snaps = append(snaps, f)
			} else {
				f.sn.Release()
			}
			for _, old := range snaps {
				checkReads(t, rng, old)
			}
		}
		// A first batch of fill keys in a row from base: full nodes.
		for i := range int(fill) {
			k := key(int(base) + i)
			v := "f" + strconv.Itoa(i)
			b.Put([]byte(k), []byte(v))
			m.put(k, v)
		}
		commit(0)
		n := 1
		for _, op := range ops {
			if op == 0xFF {
				commit(n)
				n++
				continue
			}
			k := key(int(base) + int(op&0x7F)*4)
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
	})
}
