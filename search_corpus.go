package livedb

import (
	"bytes"
	"maps"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/textsearch"
)

// searchCorpus is a search index as a transaction sees it: the snapshot's
// postings and statistics, with the transaction's own writes in the
// index's table laid over them (a mutation's search finds the documents it
// inserted, and not those it deleted, as in Convex).
type searchCorpus struct {
	tx          *txn
	si          *searchInfo
	docs, total int64
	pending     map[string]*searchEntry // documents the transaction wrote: their entry now
	old         map[string]*searchEntry // and in the snapshot
}

func (tx *txn) searchCorpus(si *searchInfo) (*searchCorpus, error) {
	c := &searchCorpus{tx: tx, si: si}
	var err error
	if c.docs, c.total, err = readSearchStats(tx.snap, si); err != nil {
		return nil, err
	}
	if tx.writes == nil {
		return c, nil
	}
	for _, docID := range tx.writes.order {
		pd := tx.writes.docs[docID]
		if pd.table.number != si.table.number {
			continue
		}
		var oldE, newE searchEntry
		for _, v := range [2]struct {
			enc []byte
			e   *searchEntry
		}{{pd.oldEnc, &oldE}, {pd.newEnc, &newE}} {
			if v.enc == nil {
				continue
			}
			doc, err := decodeDoc(v.enc, docID)
			if err != nil {
				return nil, err
			}
			*v.e = si.entry(doc)
		}
		if c.pending == nil {
			c.pending, c.old = map[string]*searchEntry{}, map[string]*searchEntry{}
		}
		c.pending[docID], c.old[docID] = &newE, &oldE
		if oldE.indexed {
			c.docs--
			c.total -= int64(oldE.length)
		}
		if newE.indexed {
			c.docs++
			c.total += int64(newE.length)
		}
	}
	return c, nil
}

// matches reports whether term matches query term t.
func (t searchTerm) matches(term string) bool {
	if t.exact {
		return term == t.text
	}
	return strings.HasPrefix(term, t.text)
}

// terms returns the index terms that query term t matches, with how many
// documents contain each.
func (c *searchCorpus) terms(t searchTerm) (map[string]int64, error) {
	snap, si := c.tx.snap, c.si
	out := map[string]int64{}
	if t.exact {
		df, err := readCount(snap, si.termsKey(searchDocFreq, t.text, true))
		if err != nil {
			return nil, err
		}
		out[t.text] = df
	} else {
		start := si.termsKey(searchDocFreq, t.text, false)
		it := snap.Iter(start, prefixEnd(start), false)
		for it.Next() {
			k := it.Key()
			term := k[len(si.prefix)+1:]
			if len(term) == 0 || term[len(term)-1] != 0 {
				it.Close()
				return nil, errBadPosting
			}
			df, err := readCount(snap, k)
			if err != nil {
				it.Close()
				return nil, err
			}
			out[string(term[:len(term)-1])] = df
		}
		it.Close()
		if err := it.Err(); err != nil {
			return nil, storeErr(err)
		}
	}
	for id, e := range c.pending {
		for term := range c.old[id].tf {
			if t.matches(term) {
				out[term]--
			}
		}
		for term := range e.tf {
			if t.matches(term) {
				out[term]++
			}
		}
	}
	return out, nil
}

// rank scores every document that holds one of the terms and passes the
// equality filters (eqs, in filter-field order, nil where none).
func (c *searchCorpus) rank(terms []searchTerm, eqs [][]byte) ([]searchHit, error) {
	si, snap := c.si, c.tx.snap
	avg := 1.0
	if c.docs > 0 {
		avg = float64(c.total) / float64(c.docs)
	}
	pass := func(filters [][]byte) bool {
		for i, want := range eqs {
			if want != nil && !bytes.Equal(want, filters[i]) {
				return false
			}
		}
		return true
	}
	byID := map[string]int{}
	var hits []searchHit
	add := func(id string, ct, score float64) {
		i, ok := byID[id]
		if !ok {
			i = len(hits)
			byID[id] = i
			hits = append(hits, searchHit{id: id, ct: ct})
		}
		hits[i].score += score
	}
	seen := map[string]bool{} // index terms already scored (a prefix may repeat a term)
	for _, t := range terms {
		dfs, err := c.terms(t)
		if err != nil {
			return nil, err
		}
		// In term order, not the map's: a document's score is a sum of
		// one float per term, and two documents with the same terms must
		// sum them in the same order to get the same bits, or a tie that
		// the newest should win is decided by rounding.
		for _, term := range slices.Sorted(maps.Keys(dfs)) {
			df := dfs[term]
			if df <= 0 || seen[term] {
				continue
			}
			seen[term] = true
			idf := textsearch.IDF(c.docs, df)
			start := si.termsKey(searchPosting, term, true)
			it := snap.Iter(start, prefixEnd(start), false)
			for it.Next() {
				id := string(it.Key()[len(start):])
				if _, mine := c.pending[id]; mine {
					continue
				}
				p, err := decodePosting(it.Value(), len(si.filters))
				if err != nil {
					it.Close()
					return nil, err
				}
				if pass(p.filters) {
					add(id, p.ct, textsearch.Score(idf, p.tf, p.length, avg))
				}
			}
			it.Close()
			if err := it.Err(); err != nil {
				return nil, storeErr(err)
			}
			for id, e := range c.pending {
				if tf := e.tf[term]; tf > 0 && pass(e.filters) {
					add(id, e.ct, textsearch.Score(idf, int64(tf), int64(e.length), avg))
				}
			}
		}
	}
	return hits, nil
}
