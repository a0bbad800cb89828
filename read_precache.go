package livedb

import (
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/internal/value"
	"weak"
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
	return &cachedDoc{doc: out, size: len(enc), deep: deep}
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

// BindMemo links a decoding handed to the store with its version's by_id
// entry (kv.Op.Bind) to that version's memo, as memoDoc links the ones
// readers cache: index entries use it to check that the version they led
// to is still current.
func (c *cachedDoc) BindMemo(m *kv.Memo) { c.memo = m }

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
	b.PutMemo(key, noValue, weak.Make(pd.newCached), false)
}

// An index entry's memo leads to the decoded document of the version it
// was last found to lead to (a link): weakly, so that an entry that is
// never written again nor read (by_creation_time's, when the table is read
// through other indexes) does not keep a replaced version and its decoding
// alive. The by_id version's own memo holds the decoding while the version
// is in the store.

// linkEntry makes the index entry memo m lead to c.
func linkEntry(m *kv.Memo, c *cachedDoc) { m.Store(weak.Make(c)) }

// entryLink returns the decoded document the index entry memo m leads to,
// or nil when it leads nowhere or to a decoding that is gone.
func entryLink(m *kv.Memo) *cachedDoc {
	w, _ := m.Load().(weak.Pointer[cachedDoc])
	return w.Value()
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
	c := entryLink(s.snapMemo)
	if c == nil || c.memo == nil || !s.ms.Current(c.memo) {
		return docRow{}, false
	}
	return sharedRow(c), true
}
