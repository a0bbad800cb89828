package livedb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/textsearch"
	"github.com/livedb-go/livedb/internal/value"
)

// A text search index is an inverted index kept in the keyspace beside the
// documents, written by the committer in the same storage commit as the
// documents it indexes. Its keys live under the index's own prefix
// (indexPrefix(id), ids shared with database indexes), so that dropping it
// is deleting a prefix:
//
//	P 'p' term 0x00 docID   posting: tf, doc length, _creationTime, filter values
//	P 'd' term 0x00         how many documents contain term (uvarint)
//	P 's'                   documents indexed (uvarint), their total length (uvarint)
//
// A term is letters and digits (internal/textsearch), never 0x00, so the
// postings of a term, and of every term that starts with a prefix, are one
// key interval. A document is indexed when its search field is a string;
// its length is its number of terms.
//
// The counts ('d' and 's') are statistics for BM25. They are not read into
// a mutation's read set, and the committer derives them from what each
// group writes (blind writes of absolute values, computed from the stored
// ones), so two mutations that insert unrelated documents never conflict
// on them. The group's storage writes carry them, so a process that applies
// the group from a shared log stores the same values.
//
// Reads of a search are recorded on read-set keys that are never stored
// (tag 0x05), one per (term, document) and per (filter field value, term,
// document):
//
//	0x05 id(4) 0x00 term 0x00 docID
//	0x05 id(4) slot value-sortkey term 0x00 docID   slot = 1 + the filter field's position
//
// A commit that changes a document's entry in the index writes these keys
// for the document's old and new terms (commitRecord.tableKeys), and a
// search records the intervals of its terms (its last term as a prefix)
// under its first equality filter, or under slot 0 without filters. So a
// search re-runs when a commit adds, removes or changes a document that
// holds one of its terms (and the value of its first filter), and not when
// unrelated documents change the statistics.
const tagSearch = 0x05

const (
	searchPosting = 'p'
	searchDocFreq = 'd'
	searchStats   = 's'
)

// searchInfo describes one search index of a table.
type searchInfo struct {
	id      uint32
	def     SearchIndexDefinition
	path    []string   // the search field, split at dots
	filters [][]string // the filter fields, split at dots
	prefix  []byte     // indexPrefix(id)
	table   *tableInfo
}

func newSearchInfo(t *tableInfo, id uint32, def SearchIndexDefinition) *searchInfo {
	si := &searchInfo{id: id, def: def, path: strings.Split(def.SearchField, "."), prefix: indexPrefix(id), table: t}
	for _, f := range def.FilterFields {
		si.filters = append(si.filters, strings.Split(f, "."))
	}
	return si
}

// searchIndex returns the table's search index called name.
func (t *tableInfo) searchIndex(name string) (*searchInfo, bool) {
	for _, si := range t.search {
		if si.def.Name == name {
			return si, true
		}
	}
	return nil, false
}

// searchJSON is the stored form of a search index in the catalog.
type searchJSON struct {
	Name    string   `json:"name"`
	ID      uint32   `json:"id"`
	Field   string   `json:"field"`
	Filters []string `json:"filters,omitempty"`
}

func (sj searchJSON) definition() SearchIndexDefinition {
	return SearchIndexDefinition{Name: sj.Name, SearchField: sj.Field, FilterFields: sj.Filters}
}

func searchJSONs(t *tableInfo) []searchJSON {
	var out []searchJSON
	for _, si := range t.search {
		out = append(out, searchJSON{Name: si.def.Name, ID: si.id, Field: si.def.SearchField, Filters: si.def.FilterFields})
	}
	return out
}

// validateSearch checks a stored table's search indexes: ids unique among
// all index ids and below the next one, names unique in the table, fields
// made of identifiers. ids and names hold the table's database indexes.
func validateSearch(c *catalog, t *tableInfo, ids map[uint32]bool, names map[string]bool) error {
	for _, si := range t.search {
		if si.id == 0 || si.id >= c.nextIndex || ids[si.id] {
			return fmt.Errorf("table %q search index %q has a bad or repeated id %d", t.name, si.def.Name, si.id)
		}
		if names[si.def.Name] {
			return fmt.Errorf("table %q has two indexes named %q", t.name, si.def.Name)
		}
		ids[si.id], names[si.def.Name] = true, true
		for _, f := range append([]string{si.def.SearchField}, si.def.FilterFields...) {
			if problem := schemaFieldPathProblem(f); problem != "" {
				return fmt.Errorf("table %q search index %q: field %q: %s", t.name, si.def.Name, f, problem)
			}
		}
	}
	return nil
}

// searchEntry is what a search index holds of one document.
type searchEntry struct {
	indexed bool           // the search field is a string
	tf      map[string]int // term frequencies
	length  int            // number of terms
	ct      float64        // _creationTime
	filters [][]byte       // sort keys of the filter fields' values
}

// entry computes doc's entry in the index.
func (si *searchInfo) entry(doc map[string]any) searchEntry {
	var e searchEntry
	s, ok := fieldValue(doc, si.path).(string)
	if !ok {
		return e
	}
	terms := textsearch.Tokenize(s)
	e.indexed, e.tf, e.length = true, textsearch.Frequencies(terms), len(terms)
	e.ct, _ = doc[fieldCreationTime].(float64)
	e.filters = make([][]byte, len(si.filters))
	for i, p := range si.filters {
		e.filters[i] = value.AppendKey(nil, fieldValue(doc, p))
	}
	return e
}

// same reports whether two entries index a document identically.
func (e *searchEntry) same(o *searchEntry) bool {
	return e.indexed == o.indexed && e.length == o.length && e.ct == o.ct &&
		maps.Equal(e.tf, o.tf) && slices.EqualFunc(e.filters, o.filters, bytes.Equal)
}

// postingKey returns the key of the posting of term in document docID.
func (si *searchInfo) postingKey(term, docID string) []byte {
	k := make([]byte, 0, len(si.prefix)+len(term)+len(docID)+2)
	k = append(append(k, si.prefix...), searchPosting)
	k = append(append(k, term...), 0)
	return append(k, docID...)
}

// termsKey returns the start of the postings ('p') or document counts
// ('d') of the terms that start with prefix; exact adds the terminator, so
// that only the term itself follows.
func (si *searchInfo) termsKey(kind byte, prefix string, exact bool) []byte {
	k := append(append(slices.Clip(si.prefix), kind), prefix...)
	if exact {
		k = append(k, 0)
	}
	return k
}

func (si *searchInfo) statsKey() []byte { return append(slices.Clip(si.prefix), searchStats) }

// encodePosting returns the value of a posting of a term that occurs tf
// times in a document with entry e.
func encodePosting(tf int, e *searchEntry) []byte {
	b := binary.AppendUvarint(nil, uint64(tf))
	b = binary.AppendUvarint(b, uint64(e.length))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(e.ct))
	for _, f := range e.filters {
		b = appendBytes(b, f)
	}
	return b
}

// posting is a decoded posting.
type posting struct {
	tf, length int64
	ct         float64
	filters    [][]byte // alias the value
}

func decodePosting(b []byte, nfilters int) (posting, error) {
	var p posting
	tf, n := binary.Uvarint(b)
	if n <= 0 {
		return p, errBadPosting
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || len(b[n:]) < 8 {
		return p, errBadPosting
	}
	b = b[n:]
	p.tf, p.length, p.ct = int64(tf), int64(l), math.Float64frombits(binary.BigEndian.Uint64(b))
	b = b[8:]
	for range nfilters {
		f, rest, err := readBytes(b)
		if err != nil {
			return p, errBadPosting
		}
		p.filters, b = append(p.filters, f), rest
	}
	if len(b) != 0 {
		return p, errBadPosting
	}
	return p, nil
}

var errBadPosting = fmt.Errorf("%w: malformed search posting", ErrCorrupt)

// readKeys returns the read-set keys of the document docID with entry e:
// per term, one for slot 0 and one per filter field.
func (si *searchInfo) readKeys(dst [][]byte, docID string, e *searchEntry) [][]byte {
	if !e.indexed {
		return dst
	}
	for term := range e.tf {
		dst = append(dst, si.readKey(0, nil, term, docID, true))
		for i, f := range e.filters {
			dst = append(dst, si.readKey(i+1, f, term, docID, true))
		}
	}
	return dst
}

// readKey returns the read-set key of slot (0, or 1 + a filter field's
// position, with that field's value sort key f) for term; without exact
// term is a prefix and the key the start of its interval, and with docID
// "" the key of the whole term.
func (si *searchInfo) readKey(slot int, f []byte, term, docID string, exact bool) []byte {
	k := make([]byte, 0, 7+len(f)+len(term)+len(docID))
	k = binary.BigEndian.AppendUint32(append(k, tagSearch), si.id)
	k = append(append(append(k, byte(slot)), f...), term...)
	if exact {
		k = append(k, 0)
	}
	return append(k, docID...)
}

// searchDelta is what a commit group changes in the statistics of one
// search index.
type searchDelta struct {
	si       *searchInfo
	docs     int64
	totalLen int64
	df       map[string]int64
}

// searchGroup gathers the search index writes of one commit group: the
// postings go into the batch document by document, the statistics at the
// end (flush), once per index.
type searchGroup struct {
	deltas map[uint32]*searchDelta
	order  []uint32
	err    error
}

// add writes the postings that pd changes in the search indexes of its
// table and adds their read-set keys to rec.
func (g *searchGroup) add(b *kv.Batch, rec *commitRecord, pd *pendingDoc) {
	if len(pd.table.search) == 0 || g.err != nil {
		return
	}
	var oldDoc, newDoc map[string]any
	var err error
	if pd.oldEnc != nil {
		if oldDoc, err = decodeDoc(pd.oldEnc, pd.id); err != nil {
			g.err = err
			return
		}
	}
	if pd.newEnc != nil {
		if newDoc, err = decodeDoc(pd.newEnc, pd.id); err != nil {
			g.err = err
			return
		}
	}
	for _, si := range pd.table.search {
		var oldE, newE searchEntry
		if oldDoc != nil {
			oldE = si.entry(oldDoc)
		}
		if newDoc != nil {
			newE = si.entry(newDoc)
		}
		if oldE.same(&newE) {
			continue
		}
		d := g.delta(si)
		d.apply(b, pd.id, &oldE, &newE)
		rec.tableKeys = si.readKeys(si.readKeys(rec.tableKeys, pd.id, &oldE), pd.id, &newE)
	}
}

func (g *searchGroup) delta(si *searchInfo) *searchDelta {
	if g.deltas == nil {
		g.deltas = map[uint32]*searchDelta{}
	}
	d := g.deltas[si.id]
	if d == nil {
		d = &searchDelta{si: si, df: map[string]int64{}}
		g.deltas[si.id] = d
		g.order = append(g.order, si.id)
	}
	return d
}

// apply writes the postings of a document going from entry oldE to newE
// and counts the change in the statistics.
func (d *searchDelta) apply(b *kv.Batch, docID string, oldE, newE *searchEntry) {
	si := d.si
	if oldE.indexed {
		d.docs--
		d.totalLen -= int64(oldE.length)
		for term := range oldE.tf {
			d.df[term]--
			if _, kept := newE.tf[term]; !kept {
				b.Delete(si.postingKey(term, docID))
			}
		}
	}
	if newE.indexed {
		d.docs++
		d.totalLen += int64(newE.length)
		for term, tf := range newE.tf {
			d.df[term]++
			b.Put(si.postingKey(term, docID), encodePosting(tf, newE))
		}
	}
}

// flush writes the statistics the group changed: the stored values plus
// the group's changes, read from the store as it is before the group (the
// committer's store holds every earlier group).
func (g *searchGroup) flush(store kv.Store, b *kv.Batch) error {
	if g.err != nil || len(g.order) == 0 {
		return g.err
	}
	snap, err := store.Snapshot()
	if err != nil {
		return storeErr(err)
	}
	defer snap.Release()
	for _, id := range g.order {
		if err := g.deltas[id].write(snap, b); err != nil {
			return err
		}
	}
	return nil
}

// write adds to b the index's statistics after the delta.
func (d *searchDelta) write(snap kv.Snapshot, b *kv.Batch) error {
	si := d.si
	docs, total, err := readSearchStats(snap, si)
	if err != nil {
		return err
	}
	b.Put(si.statsKey(), encodeSearchStats(docs+d.docs, total+d.totalLen))
	terms := slices.Sorted(maps.Keys(d.df))
	for _, term := range terms {
		delta := d.df[term]
		if delta == 0 {
			continue
		}
		k := si.termsKey(searchDocFreq, term, true)
		df, err := readCount(snap, k)
		if err != nil {
			return err
		}
		if df+delta <= 0 {
			b.Delete(k)
			continue
		}
		b.Put(k, binary.AppendUvarint(nil, uint64(df+delta)))
	}
	return nil
}

func encodeSearchStats(docs, total int64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, uint64(max(docs, 0))), uint64(max(total, 0)))
}

// readSearchStats reads how many documents the index holds and their total
// length.
func readSearchStats(snap kv.Snapshot, si *searchInfo) (docs, total int64, err error) {
	v, ok, err := snap.Get(si.statsKey())
	if err != nil || !ok {
		return 0, 0, storeErr(err)
	}
	n, k := binary.Uvarint(v)
	t, k2 := binary.Uvarint(v[max(k, 0):])
	if k <= 0 || k2 <= 0 || k+k2 != len(v) {
		return 0, 0, fmt.Errorf("%w: malformed statistics of search index %s.%s", ErrCorrupt, si.table.name, si.def.Name)
	}
	return int64(n), int64(t), nil
}

// readCount reads a uvarint count at k, 0 when absent.
func readCount(snap kv.Snapshot, k []byte) (int64, error) {
	v, ok, err := snap.Get(k)
	if err != nil || !ok {
		return 0, storeErr(err)
	}
	n, m := binary.Uvarint(v)
	if m <= 0 || m != len(v) {
		return 0, fmt.Errorf("%w: malformed document count %x", ErrCorrupt, shown(k))
	}
	return int64(n), nil
}

// backfillSearch writes the whole index si of the documents in snap.
func backfillSearch(snap kv.Snapshot, si *searchInfo, b *kv.Batch) (int64, error) {
	d := &searchDelta{si: si, df: map[string]int64{}}
	var n int64
	err := forEachDoc(snap, si.table, func(doc map[string]any) error {
		e := si.entry(doc)
		d.apply(b, doc[fieldID].(string), &searchEntry{}, &e)
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, d.write(snap, b)
}
