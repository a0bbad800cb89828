package livedb

import (
	"sync/atomic"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/internal/value"
)

// Decoded documents cached at commit, on the memory backend.
//
// A read on the memory backend finds a version's decoded document in the
// version's memo (cachedDoc), once a reader put it there; before that it
// decodes the stored bytes, which costs several times what the copy of a
// cached document costs. The writer already holds the document it
// validated and encoded, so a mutation on the memory backend keeps a copy
// of it in canonical form (precachedDoc) and the committer hands it to the
// store with the version's by_id entry and its new index entries
// (writeBatch, kv.Op.Memo): the first read of a version finds it decoded.
//
// The copy is what decodePublicDoc returns for the version's bytes, value
// for value: the same Go types (an ID inside the document is a string, as
// the codec stores it; the top-level _id an ID), arrays, objects and bytes
// of its own (the caller's Doc may change after the write). A document
// holding a value whose decoding the copy would not reproduce exactly is
// not cached at commit; its readers decode it, as before. Another process
// of a shared database applies the commit from the log without the copy,
// and its readers decode: the cache is an optimisation only, and its
// contents equal the bytes' decoding wherever it is made.

// keepsMemos reports whether the DB's store keeps a memo per version (the
// memory backend, and the memory copy of a shared database), so that a
// write's decoded document is worth keeping for its readers.
func (db *DB) keepsMemos() bool {
	_, ok := db.store.(*memkv.Store)
	return ok && precacheWrites
}

// precacheWrites is false only in the benchmark that compares first reads
// with and without the decodings kept at commit (BenchmarkPrecache_FirstGet).
var precacheWrites = true

// precachedDoc returns the cached decoding of the version that encodes
// doc as enc (doc's _id a string, as stage gets it), or nil when doc holds
// a value whose copy would not equal its decoding.
func precachedDoc(doc map[string]any, enc []byte) *cachedDoc {
	out := make(map[string]any, len(doc))
	deep := false
	for k, x := range doc {
		if k == fieldID {
			s, ok := x.(string)
			if !ok {
				return nil
			}
			out[k] = ID(s)
			continue
		}
		c, ok := decodedCopy(x)
		if !ok {
			return nil
		}
		switch c.(type) {
		case []any, map[string]any, []byte:
			deep = true
		}
		out[k] = c
	}
	return newCachedDoc(out, len(enc), deep, 0) // born set by BindMemo
}

// decodedCopy returns the value that decoding the encoding of the
// canonical value x gives, sharing nothing mutable with x, and false when
// x holds a value it does not know to give exactly that.
func decodedCopy(x any) (any, bool) {
	switch t := x.(type) {
	case nil, bool, int64, float64, string:
		return x, true
	case value.ID:
		return string(t), true
	case []byte:
		return append(make([]byte, 0, len(t)), t...), true
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			c, ok := decodedCopy(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			c, ok := decodedCopy(e)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	}
	if x == value.Undefined {
		return x, true
	}
	return nil, false
}

// BindMemo gives a decoding handed to the store with its version's by_id
// entry (kv.Op.Bind) the commit that wrote the version, as memoDoc gives
// the ones readers cache: index entries use it to check that the version
// they led to is old enough for their snapshot.
func (c *cachedDoc) BindMemo(m *kv.Memo) { c.born = m.Born() }

// putDocMemo is the by_id Put of writeBatch: pd's new version, with its
// decoded document when the mutation kept one.
func putDocMemo(b *kv.Batch, key []byte, pd *pendingDoc) {
	if pd.newCached == nil {
		b.Put(key, pd.newEnc)
		return
	}
	b.PutMemo(key, pd.newEnc, pd.newCached, true)
}

// putEntryMemo is an index entry's Put of writeBatch: the entry's memo
// starts out leading to pd's new version's decoded document, when the
// mutation kept one (see scanner.snapRow).
func putEntryMemo(b *kv.Batch, key []byte, pd *pendingDoc) {
	if pd.newCached == nil {
		b.Put(key, noValue)
		return
	}
	b.PutMemo(key, noValue, pd.newCached.link, false)
}

// An index entry's memo leads to the decoded document of the version it
// was last found to lead to (a link), so that a scan takes the row without
// looking the document up by its _id. The link is a docLink, which the
// decoding's own by_id memo empties when the store replaces or deletes the
// version (cachedDoc.Superseded, through kv.Memo.Supersede): an entry that
// is never written again nor read (by_creation_time's, when the table is
// read through other indexes) then holds only the empty docLink, not the
// replaced version and its decoding. The by_id version's own memo holds
// the decoding while the version is in the store.
//
// A link that is not empty leads to a version that no commit has replaced
// yet, so that version is current at every snapshot that can see it
// (kv.MemoSnapshot.Visible of its born): the check reads nothing but the
// link and the decoding. Two readers caching the same version keep one
// decoding (memoDoc's CompareAndSwap), so that the one the by_id memo
// empties is the only one index entries can lead to; a decoding stored
// while its version was being replaced is emptied by the store call
// itself (kv.Superseder).
//
// Example: an insert commits version D1 of a note with its decoding c1;
// the by_group entry E is written linking c1.link. A patch of the note's
// other fields commits D2 (decoding c2), leaves E alone, and supersedes
// D1, which empties c1.link. A query on by_group finds E's link empty,
// looks the note up by its _id, finds c2 and links E to c2.link.

// docLink is what an index entry's memo holds: the decoding of a document
// version, until that version is replaced or deleted; then nil.
type docLink struct{ c atomic.Pointer[cachedDoc] }

// Touch reads what a scan reading l will read (kv.Toucher): the decoding
// l leads to and the T a typed read keeps of it.
func (l *docLink) Touch() uintptr {
	c := l.c.Load()
	if c == nil {
		return 0
	}
	n := uintptr(c.size)
	if h := c.typed.Load(); h != nil && h.typ != nil {
		n++
	}
	return n
}

// newCachedDoc returns the cached decoding of a version written by commit
// born (0 when the store sets it later, BindMemo), with its link.
func newCachedDoc(doc map[string]any, size int, deep bool, born uint64) *cachedDoc {
	c := &cachedDoc{doc: doc, size: size, deep: deep, born: born, link: new(docLink)}
	c.link.c.Store(c)
	return c
}

// Superseded empties c's link: its version was replaced or deleted
// (kv.Superseder; the store calls it).
func (c *cachedDoc) Superseded() {
	if c.link != nil {
		c.link.c.Store(nil)
	}
}

// linkEntry makes the index entry memo m lead to c.
func linkEntry(m *kv.Memo, c *cachedDoc) {
	if c.link != nil {
		m.Store(c.link)
	}
}

// entryLink returns the decoded document the index entry memo m leads to,
// or nil when it leads nowhere or to a version since replaced.
func entryLink(m *kv.Memo) *cachedDoc {
	l, _ := m.Load().(*docLink)
	if l == nil {
		return nil
	}
	return l.c.Load()
}

// currentLink returns the decoded document the index entry memo m leads
// to when that version is the one snapshot ms sees, else nil.
func currentLink(ms kv.MemoSnapshot, m *kv.Memo) *cachedDoc {
	if c := entryLink(m); c != nil && ms.Visible(c.born) {
		return c
	}
	return nil
}

// linkedRow returns, in a query (no writes of its own to merge) on the
// memory backend, the row that the current index entry's memo leads to
// when that document version is current, before anything is derived from
// the entry's key: the _id it ends with, which the entry was checked to
// hold when the link was made (by the read that linked it, scanner.snapRow,
// or by the commit that wrote the entry with its document), is not needed.
func (s *scanner) linkedRow() (docRow, bool) {
	if s.mit == nil || s.tx.writes != nil {
		return docRow{}, false
	}
	c := currentLink(s.ms, s.snapMemo)
	if c == nil {
		return docRow{}, false
	}
	return sharedRow(c), true
}
