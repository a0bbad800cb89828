package livedb_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// searchSchema is a table of notes with a search index on body, filtered
// by status and tag.
func searchSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{
			"body":   v.Optional(v.String()),
			"status": v.String(),
			"tag":    v.Optional(v.String()),
			"n":      v.Optional(v.Int64()),
		})).Index("by_status", "status").
			SearchIndex("search_body", "body", "status", "tag"),
	})
}

// refTokenize is the reference tokenizer: maximal runs of letters and
// digits, lower-cased, at most 64 bytes.
func refTokenize(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var out []string
	for _, t := range f {
		if t = strings.ToLower(t); len(t) <= 64 {
			out = append(out, t)
		}
	}
	return out
}

// refSearch ranks docs for a search by brute force: every document's terms
// counted anew, BM25 (k1 1.2, b 0.75, idf ln(1+(N-df+.5)/(df+.5))) summed
// over the index terms the query terms match (the last as a prefix).
func refSearch(docs map[livedb.ID]livedb.Doc, text string, eqs map[string]any) ([]livedb.ID, map[livedb.ID]float64) {
	type entry struct {
		tf  map[string]int
		len int
	}
	entries := map[livedb.ID]entry{}
	total := 0
	for id, d := range docs {
		body, ok := d["body"].(string)
		if !ok {
			continue
		}
		terms := refTokenize(body)
		e := entry{tf: map[string]int{}, len: len(terms)}
		for _, t := range terms {
			e.tf[t]++
		}
		entries[id] = e
		total += len(terms)
	}
	n := float64(len(entries))
	avg := 1.0
	if len(entries) > 0 {
		avg = float64(total) / n
	}
	var q []string
	for _, t := range refTokenize(text) {
		if !slices.Contains(q, t) {
			q = append(q, t)
		}
	}
	matched := map[string]bool{} // index terms the query matches
	for _, e := range entries {
		for term := range e.tf {
			for i, t := range q {
				if term == t || i == len(q)-1 && strings.HasPrefix(term, t) {
					matched[term] = true
				}
			}
		}
	}
	scores := map[livedb.ID]float64{}
	// In term order, as the engine sums a document's terms: with the same
	// additions in the same order, two documents the engine ties on have
	// the same score here too, bit for bit.
	for _, term := range slices.Sorted(maps.Keys(matched)) {
		df := 0.0
		for _, e := range entries {
			if e.tf[term] > 0 {
				df++
			}
		}
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for id, e := range entries {
			tf := float64(e.tf[term])
			if tf == 0 {
				continue
			}
			pass := true
			for f, x := range eqs {
				got, ok := docs[id][f]
				if x == nil && ok || x != nil && got != x {
					pass = false
				}
			}
			if pass {
				scores[id] += idf * tf * 2.2 / (tf + 1.2*(0.25+0.75*float64(e.len)/avg))
			}
		}
	}
	ids := make([]livedb.ID, 0, len(scores))
	for id := range scores {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b livedb.ID) int {
		if d := scores[b] - scores[a]; math.Abs(d) > 1e-9 {
			if d > 0 {
				return 1
			}
			return -1
		}
		if ca, cb := docs[a].CreationTime(), docs[b].CreationTime(); ca != cb {
			if ca > cb {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
	return ids, scores
}

// mustSameRanking checks that got lists the reference's results in an
// order the reference's scores allow: by score (scores within 1e-9 of
// each other in either order, for rounding), and, between equal scores,
// the newest first.
func mustSameRanking(t *testing.T, what string, docs map[livedb.ID]livedb.Doc, got []livedb.Doc, want []livedb.ID, scores map[livedb.ID]float64) {
	t.Helper()
	gotIDs := make([]livedb.ID, len(got))
	for i, d := range got {
		gotIDs[i] = d.ID()
	}
	require.ElementsMatch(t, want, gotIDs, "%s: the results", what)
	for i := 1; i < len(gotIDs); i++ {
		a, b := gotIDs[i-1], gotIDs[i]
		d := scores[a] - scores[b]
		require.GreaterOrEqual(t, d, -1e-9, "%s: %s (%.6f) ranked before %s (%.6f)", what, a, scores[a], b, scores[b])
		if d == 0 {
			require.GreaterOrEqual(t, docs[a].CreationTime(), docs[b].CreationTime(), "%s: a tie is broken by the newest first", what)
		}
	}
}

func searchNotes(r *livedb.Reader, text string, eqs map[string]any) *livedb.Query {
	return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter {
		s = s.Search("body", text)
		for _, f := range []string{"status", "tag"} {
			if x, ok := eqs[f]; ok {
				if x == nil {
					x = livedb.Undefined
				}
				s = s.Eq(f, x)
			}
		}
		return s
	})
}

var searchVocab = []string{"fix", "login", "logout", "log", "bug", "deploy", "test", "tests", "agent", "plan", "review", "merge", "Über", "straße", "42"}

func randomBody(r *rand.Rand) any {
	if r.IntN(10) == 0 {
		return nil // no body: not indexed
	}
	n := r.IntN(8)
	words := make([]string, n)
	for i := range words {
		words[i] = searchVocab[r.IntN(len(searchVocab))]
		if r.IntN(4) == 0 {
			words[i] = strings.ToUpper(words[i])
		}
	}
	return strings.Join(words, []string{" ", ", ", "-", "\n"}[r.IntN(4)])
}

func randomNote(r *rand.Rand) livedb.Doc {
	d := livedb.Doc{"status": []string{"todo", "done", "failed"}[r.IntN(3)]}
	if b := randomBody(r); b != nil {
		d["body"] = b
	}
	if r.IntN(2) == 0 {
		d["tag"] = []string{"a", "b"}[r.IntN(2)]
	}
	return d
}

func randomSearch(r *rand.Rand) (string, map[string]any) {
	n := 1 + r.IntN(3)
	words := make([]string, n)
	for i := range words {
		w := searchVocab[r.IntN(len(searchVocab))]
		if i == n-1 && r.IntN(2) == 0 {
			w = w[:1+r.IntN(len(w))] // a prefix, possibly cut inside a rune: the tokenizer drops the broken rune
		}
		words[i] = w
	}
	eqs := map[string]any{}
	if r.IntN(2) == 0 {
		eqs["status"] = []string{"todo", "done", "failed"}[r.IntN(3)]
	}
	if r.IntN(3) == 0 {
		eqs["tag"] = []any{"a", "b", nil}[r.IntN(3)]
	}
	return strings.Join(words, " "), eqs
}

// TestSearch_Query_MatchesReference runs random writes and random searches
// on every backend and compares each search with the brute-force
// reference, at a snapshot (Query) and inside a mutation that has written.
func TestSearch_Query_MatchesReference(t *testing.T) {
	forEachBackend(t, searchSchema(), func(t *testing.T, db *livedb.DB) {
		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 1))
		model := map[livedb.ID]livedb.Doc{}
		ctx := context.Background()
		reload := func() {
			for _, d := range mustCollect(t, db, "notes") {
				model[d.ID()] = d
			}
		}
		for round := range 6 {
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				for range 15 {
					ids := make([]livedb.ID, 0, len(model))
					for id := range model {
						ids = append(ids, id)
					}
					slices.Sort(ids)
					switch op := r.IntN(6); {
					case op < 3 || len(ids) == 0:
						if _, err := m.DB.Insert("notes", randomNote(r)); err != nil {
							return err
						}
					case op == 3:
						id := ids[r.IntN(len(ids))]
						if err := m.DB.Delete(id); err != nil {
							return err
						}
						delete(model, id)
					case op == 4:
						b := randomBody(r)
						if b == nil {
							b = livedb.Undefined
						}
						if err := m.DB.Patch(ids[r.IntN(len(ids))], livedb.Doc{"body": b}); err != nil {
							return err
						}
					default:
						if err := m.DB.Patch(ids[r.IntN(len(ids))], livedb.Doc{"status": "done", "n": int64(round)}); err != nil {
							return err
						}
					}
				}
				return nil
			})
			clear(model)
			reload()
			for range 20 {
				text, eqs := randomSearch(r)
				want, scores := refSearch(model, text, eqs)
				var got, top []livedb.Doc
				require.NoError(t, db.Query(ctx, func(q *livedb.QueryCtx) error {
					var err error
					if got, err = searchNotes(q.DB, text, eqs).Collect(); err != nil {
						return err
					}
					top, err = searchNotes(q.DB, text, eqs).Take(3)
					return err
				}))
				what := fmt.Sprintf("round %d: search %q eq %v", round, text, eqs)
				mustSameRanking(t, what, model, got, want, scores)
				require.Equal(t, got[:min(3, len(got))], top, "%s: Take(3) is Collect's first three", what)
			}
		}
		// Inside a mutation, the search sees the mutation's own writes.
		text, eqs := "deploy fix", map[string]any{"status": "todo"}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			local := map[livedb.ID]livedb.Doc{}
			for id, d := range model {
				local[id] = d
			}
			for range 5 {
				id, err := m.DB.Insert("notes", livedb.Doc{"body": "fix deploy deploy", "status": "todo"})
				if err != nil {
					return err
				}
				d, _, err := m.DB.Get(id)
				if err != nil {
					return err
				}
				local[id] = d
			}
			for id, d := range local {
				if d["body"] != nil && strings.Contains(strings.ToLower(d["body"].(string)), "fix") {
					if err := m.DB.Delete(id); err != nil {
						return err
					}
					delete(local, id)
					break
				}
			}
			// Patched documents: their stored postings no longer count.
			for id, d := range local {
				if d["body"] != nil && d["status"] == "todo" && strings.Contains(strings.ToLower(d["body"].(string)), "deploy") {
					if err := m.DB.Patch(id, livedb.Doc{"body": "nothing here"}); err != nil {
						return err
					}
					d, _, err := m.DB.Get(id)
					if err != nil {
						return err
					}
					local[id] = d
				}
			}
			got, err := searchNotes(&m.DB.Reader, text, eqs).Collect()
			if err != nil {
				return err
			}
			want, scores := refSearch(local, text, eqs)
			mustSameRanking(t, "inside a mutation", local, got, want, scores)
			return nil
		})
	})
}
