// Command pageacct reports where the bytes of a bbolt file go: for every
// bucket, and in livedb's bucket for every key range (catalog, each index
// by its id, change records, later-change keys), the keys, their key and
// value bytes, the leaf pages they fill and how full those pages are.
//
//	go run ./cmd/pageacct FILE...
//
// It walks each bucket's B+tree from its root page as bbolt lays it out
// (page header 16 bytes; leaf elements 16 bytes each: flags, pos, ksize,
// vsize; branch elements 16 bytes: pos, ksize, pgid), so it counts the
// pages in use, not the free ones. A leaf page is counted in the range of
// its first key; its bytes are split by the keys it holds.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

type acct struct {
	keys, keyBytes, valBytes int
	leafUsed                 int     // element headers + keys + values
	pages                    float64 // leaf pages, shared pages split by bytes
	overflow                 int
}

func main() {
	for _, path := range os.Args[1:] {
		if err := report(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func report(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	psz := db.Info().PageSize
	fmt.Printf("%s: %d bytes, %d pages of %d\n", path, fi.Size(), fi.Size()/int64(psz), psz)
	return db.View(func(tx *bolt.Tx) error {
		var totalPages float64
		var branchPages int
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			ranges := map[string]*acct{}
			root := b.Root()
			var walk func(pgid uint64)
			walk = func(pgid uint64) {
				p := f[int(pgid)*psz:]
				flags := binary.LittleEndian.Uint16(p[8:])
				count := int(binary.LittleEndian.Uint16(p[10:]))
				overflow := int(binary.LittleEndian.Uint32(p[12:]))
				switch {
				case flags&0x01 != 0: // branch
					branchPages += 1 + overflow
					for i := range count {
						e := p[16+16*i:]
						walk(binary.LittleEndian.Uint64(e[8:]))
					}
				case flags&0x02 != 0: // leaf
					used := 16
					type part struct {
						r string
						n int
					}
					var parts []part
					for i := range count {
						e := p[16+16*i:]
						pos := int(binary.LittleEndian.Uint32(e[4:]))
						ks := int(binary.LittleEndian.Uint32(e[8:]))
						vs := int(binary.LittleEndian.Uint32(e[12:]))
						k := e[pos : pos+ks]
						r := rangeOf(string(name), k)
						a := ranges[r]
						if a == nil {
							a = &acct{}
							ranges[r] = a
						}
						a.keys++
						a.keyBytes += ks
						a.valBytes += vs
						a.leafUsed += 16 + ks + vs
						used += 16 + ks + vs
						parts = append(parts, part{r, 16 + ks + vs})
					}
					n := float64(1 + overflow)
					for _, pt := range parts {
						ranges[pt.r].pages += n * float64(pt.n) / float64(used-16)
					}
					if len(parts) > 0 {
						ranges[parts[0].r].overflow += overflow
					}
				}
			}
			if root != 0 {
				walk(uint64(root))
			}
			names := make([]string, 0, len(ranges))
			for r := range ranges {
				names = append(names, r)
			}
			sort.Strings(names)
			fmt.Printf("bucket %q (root page %d)\n", name, root)
			fmt.Printf("  %-28s %9s %8s %8s %8s %10s %6s\n", "range", "keys", "key B/k", "val B/k", "pages", "MiB", "fill")
			for _, r := range names {
				a := ranges[r]
				totalPages += a.pages
				fmt.Printf("  %-28s %9d %8.1f %8.1f %8.0f %10.2f %5.0f%%\n", r, a.keys,
					float64(a.keyBytes)/float64(a.keys), float64(a.valBytes)/float64(a.keys),
					a.pages, a.pages*float64(psz)/(1<<20), 100*float64(a.leafUsed)/(a.pages*float64(psz)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		filePages := int(fi.Size()) / psz
		fmt.Printf("leaf pages %.0f (%.2f MiB), branch pages %d (%.2f MiB), other pages (free, freelist, meta) %.0f (%.2f MiB)\n",
			totalPages, totalPages*float64(psz)/(1<<20), branchPages, float64(branchPages*psz)/(1<<20),
			float64(filePages)-totalPages-float64(branchPages), (float64(filePages)-totalPages-float64(branchPages))*float64(psz)/(1<<20))
		return nil
	})
}

// rangeOf names the key range of k in bucket: livedb's key tags, with the
// index id for index entries; one range per bucket elsewhere.
func rangeOf(bucket string, k []byte) string {
	if !strings.HasPrefix(bucket, "livedb") || len(k) == 0 {
		return bucket
	}
	if p := bucket[len("livedb"):]; len(p) == 6 && (p[0] == 0x01 || p[0] == 0x05) {
		k = append([]byte(p), k...) // an index's bucket stores its keys without this prefix
	}
	switch k[0] {
	case 0x00:
		return "0x00 " + string(k[1:])
	case 0x01:
		if len(k) >= 5 {
			return fmt.Sprintf("0x01 index %d", binary.BigEndian.Uint32(k[1:5]))
		}
	case 0x02:
		return "0x02 change record"
	case 0x03:
		return "0x03 last ts"
	case 0x05:
		return "0x05 later change"
	}
	return fmt.Sprintf("tag 0x%02x", k[0])
}
