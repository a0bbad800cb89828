package livedb

import (
	"crypto/sha256"
	"hash/maphash"
	"sync/atomic"
)

// fingerprints remembers the fingerprints of recent query descriptions,
// one per slot, the slot picked by a hash of the description: a program
// pages through the same few queries again and again (every Paginate is a
// new Query, whose fingerprint would otherwise be a SHA-256 of the same
// text each time). A description's fingerprint never changes, so a slot
// that holds it gives the answer the hash would; another description
// that lands in the slot replaces it, but only on its second miss in a
// row there (seen holds the hash of the last one that missed): a program
// whose queries are each run once (every range value new) does not pay an
// entry per Paginate.
var fingerprints struct {
	seed  maphash.Seed
	slots [512]atomic.Pointer[fingerprintEntry]
	seen  [512]atomic.Uint64
}

func init() { fingerprints.seed = maphash.MakeSeed() }

// maxMemoDescription is the length of the longest description that
// fingerprints keeps: 512 of them hold at most 128 KiB.
const maxMemoDescription = 256

// fingerprintEntry is a description and its fingerprint; never changed.
type fingerprintEntry struct {
	desc string
	fp   [8]byte
}

// fingerprintOfDescription returns the first 8 bytes of the SHA-256 of
// desc, from fingerprints when it holds desc. desc is not kept; one
// longer than maxMemoDescription is hashed every time rather than kept.
func fingerprintOfDescription(desc []byte) [8]byte {
	if len(desc) > maxMemoDescription {
		h := sha256.Sum256(desc)
		return [8]byte(h[:8])
	}
	hash := maphash.Bytes(fingerprints.seed, desc)
	i := hash % uint64(len(fingerprints.slots))
	if e := fingerprints.slots[i].Load(); e != nil && e.desc == string(desc) {
		return e.fp
	}
	h := sha256.Sum256(desc)
	fp := [8]byte(h[:8])
	if fingerprints.seen[i].Swap(hash) == hash {
		fingerprints.slots[i].Store(&fingerprintEntry{desc: string(desc), fp: fp})
	}
	return fp
}
