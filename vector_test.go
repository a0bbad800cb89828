package livedb_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

const vecDims = 8

var vecKinds = []string{"note", "todo", "fact"}

// vecSchema is a table of memories with an embedding, searched by kind
// and tag.
func vecSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{"memories": vecTable()})
}

func vecTable() *livedb.TableDefinition {
	return livedb.DefineTable(v.Object(v.Fields{
		"kind":      v.String(),
		"tag":       v.Optional(v.String()),
		"text":      v.Optional(v.String()),
		"embedding": v.Optional(v.Array(v.Float64())),
	})).VectorIndex("by_embedding", "embedding", vecDims, "kind", "tag")
}

// vecRandom returns a random vector whose components are float32 values,
// so that storing them loses nothing.
func vecRandom(r *rand.Rand, dims int) []any {
	out := make([]any, dims)
	for i := range out {
		out[i] = float64(float32(r.NormFloat64()))
	}
	return out
}

func vecFloats(x []any) []float64 {
	out := make([]float64, len(x))
	for i, c := range x {
		out[i] = c.(float64)
	}
	return out
}

// vecRandomDoc returns a memory of a random kind and tag, with a vector
// nine times in ten.
func vecRandomDoc(r *rand.Rand) livedb.Doc {
	d := livedb.Doc{"kind": vecKinds[r.IntN(len(vecKinds))], "tag": fmt.Sprintf("t%d", r.IntN(2))}
	if r.IntN(10) > 0 {
		d["embedding"] = vecRandom(r, vecDims)
	}
	return d
}

// vecRefSearch is the reference: every document of the table scored in
// Go, sorted by score then ID, filtered by keep.
func vecRefSearch(docs []livedb.Doc, q []float64, limit int, keep func(livedb.Doc) bool) []livedb.VectorResult {
	var out []livedb.VectorResult
	for _, d := range docs {
		e, ok := d["embedding"].([]any)
		if !ok || !keep(d) {
			continue
		}
		var dot, na, nb float64
		for i, c := range vecFloats(e) {
			dot += q[i] * c
			na += q[i] * q[i]
			nb += c * c
		}
		score := 0.0
		if na > 0 && nb > 0 {
			score = dot / (math.Sqrt(na) * math.Sqrt(nb))
		}
		out = append(out, livedb.VectorResult{ID: d.ID(), Score: score})
	}
	slices.SortFunc(out, func(a, b livedb.VectorResult) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	return out[:min(limit, len(out))]
}

func mustVectorSearch(t *testing.T, db *livedb.DB, q []float64, opts livedb.VectorSearchOptions) []livedb.VectorResult {
	t.Helper()
	res, err := livedb.QueryValue(context.Background(), db, func(qc *livedb.QueryCtx) ([]livedb.VectorResult, error) {
		return qc.DB.VectorSearch("memories", "by_embedding", q, opts)
	})
	require.NoError(t, err)
	return res
}

// vecAssertSame compares a search with the reference: the same IDs in the
// same order, and the same scores up to rounding.
func vecAssertSame(t *testing.T, want, got []livedb.VectorResult, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		require.Equal(t, want[i].ID, got[i].ID, "%s: result %d", what, i)
		require.InDelta(t, want[i].Score, got[i].Score, 1e-9, "%s: result %d", what, i)
	}
}

// TestReader_VectorSearch_MatchesReference runs random searches, with
// and without filters, after random inserts, updates and deletes, and
// compares each with a brute-force search over every document.
func TestReader_VectorSearch_MatchesReference(t *testing.T) {
	forEachBackend(t, vecSchema(), func(t *testing.T, db *livedb.DB) {
		seed := time.Now().UnixNano()
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		var f livedb.FilterBuilder
		for round := range 3 {
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				for range 60 {
					if _, err := m.DB.Insert("memories", vecRandomDoc(r)); err != nil {
						return err
					}
				}
				return nil
			})
			docs := mustCollect(t, db, "memories")
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				for _, d := range docs[:20] {
					var err error
					switch r.IntN(4) {
					case 0:
						err = m.DB.Delete(d.ID())
					case 1:
						err = m.DB.Patch(d.ID(), livedb.Doc{"embedding": vecRandom(r, vecDims)})
					case 2:
						err = m.DB.Patch(d.ID(), livedb.Doc{"kind": vecKinds[r.IntN(len(vecKinds))]})
					case 3:
						err = m.DB.Replace(d.ID(), livedb.Doc{"kind": "note"}) // drops the vector
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
			docs = mustCollect(t, db, "memories")
			for i := range 12 {
				q := vecFloats(vecRandom(r, vecDims))
				limit := 1 + r.IntN(40)
				kind, tag := vecKinds[r.IntN(len(vecKinds))], fmt.Sprintf("t%d", r.IntN(2))
				cases := []struct {
					name   string
					filter livedb.Expr
					keep   func(livedb.Doc) bool
				}{
					{"none", nil, func(livedb.Doc) bool { return true }},
					{"kind", f.Eq(f.Field("kind"), kind), func(d livedb.Doc) bool { return d["kind"] == kind }},
					{"tag", f.Eq(tag, f.Field("tag")), func(d livedb.Doc) bool { return d["tag"] == tag }},
					{"kind or kind", f.Or(f.Eq(f.Field("kind"), kind), f.Eq(f.Field("kind"), "todo")), func(d livedb.Doc) bool { return d["kind"] == kind || d["kind"] == "todo" }},
					{"kind or tag", f.Or(f.Eq(f.Field("kind"), kind), f.Eq(f.Field("tag"), tag)), func(d livedb.Doc) bool { return d["kind"] == kind || d["tag"] == tag }},
				}
				for _, c := range cases {
					got := mustVectorSearch(t, db, q, livedb.VectorSearchOptions{Limit: limit, Filter: c.filter})
					vecAssertSame(t, vecRefSearch(docs, q, limit, c.keep), got, fmt.Sprintf("round %d search %d filter %s limit %d", round, i, c.name, limit))
				}
			}
		}
	})
}

// TestReader_VectorSearch_DefaultLimitAndTies checks the default limit of
// 10 and that equal scores are ordered by ID.
func TestReader_VectorSearch_DefaultLimitAndTies(t *testing.T) {
	forEachBackend(t, vecSchema(), func(t *testing.T, db *livedb.DB) {
		vec := []any{1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}
		var ids []livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 15 {
				id, err := m.DB.Insert("memories", livedb.Doc{"kind": "note", "embedding": vec, "text": fmt.Sprint(i)})
				ids = append(ids, id)
				if err != nil {
					return err
				}
			}
			return nil
		})
		slices.Sort(ids)
		got := mustVectorSearch(t, db, []float64{2, 0, 0, 0, 0, 0, 0, 0}, livedb.VectorSearchOptions{})
		require.Len(t, got, 10)
		for i, r := range got {
			assert.Equal(t, ids[i], r.ID, "result %d: equal scores are ordered by ID", i)
			assert.Equal(t, 1.0, r.Score)
		}
	})
}

// TestReader_VectorSearch_SeesOwnWrites searches inside a mutation after
// its own insert, patch and delete.
func TestReader_VectorSearch_SeesOwnWrites(t *testing.T) {
	forEachBackend(t, vecSchema(), func(t *testing.T, db *livedb.DB) {
		var kept livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			kept, err = m.DB.Insert("memories", livedb.Doc{"kind": "note", "embedding": []any{1.0, 0.0, 0, 0, 0, 0, 0, 0.0}})
			return err
		})
		q := []float64{0, 1, 0, 0, 0, 0, 0, 0}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			id, err := m.DB.Insert("memories", livedb.Doc{"kind": "note", "embedding": []any{0.0, 1.0, 0, 0, 0, 0, 0, 0.0}})
			require.NoError(t, err)
			res, err := m.DB.VectorSearch("memories", "by_embedding", q, livedb.VectorSearchOptions{Limit: 5})
			require.NoError(t, err)
			require.Equal(t, []livedb.VectorResult{{ID: id, Score: 1}, {ID: kept, Score: 0}}, res)
			require.NoError(t, m.DB.Patch(kept, livedb.Doc{"embedding": []any{0.0, -1.0, 0, 0, 0, 0, 0, 0.0}}))
			require.NoError(t, m.DB.Delete(id))
			res, err = m.DB.VectorSearch("memories", "by_embedding", q, livedb.VectorSearchOptions{Limit: 5})
			require.NoError(t, err)
			require.Equal(t, []livedb.VectorResult{{ID: kept, Score: -1}}, res)
			return nil
		})
	})
}

// TestTable_Insert_InvalidVector_Refused writes vectors the index cannot
// take: each write fails with an error naming the table, field and index,
// and nothing is written.
func TestTable_Insert_InvalidVector_Refused(t *testing.T) {
	loose := livedb.DefineSchema(livedb.Tables{"memories": livedb.DefineTable(v.Any()).VectorIndex("by_embedding", "embedding", 3)})
	cases := []struct {
		name string
		vec  any
		want string
	}{
		{"too short", []any{1.0, 2.0}, "has 2 dimensions, the index 3"},
		{"too long", []any{1.0, 2.0, 3.0, 4.0}, "has 4 dimensions, the index 3"},
		{"NaN", []any{1.0, math.NaN(), 3.0}, "component 1 is NaN"},
		{"Inf", []any{math.Inf(-1), 2.0, 3.0}, "component 0 is -Inf"},
		{"beyond float32", []any{1.0, 2.0, 1e300}, "component 2 is 1e+300"},
		{"int64", []any{1.0, int64(2), 3.0}, "component 1 has type Int64, not Float64"},
		{"not array", "abc", "the field has type String, not an array of 3 Float64"},
	}
	forEachBackend(t, loose, func(t *testing.T, db *livedb.DB) {
		var good livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			good, err = m.DB.Insert("memories", livedb.Doc{"embedding": []any{1.0, 0.0, 0.0}})
			return err
		})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("memories", livedb.Doc{"embedding": c.vec})
					return err
				})
				require.ErrorIs(t, err, livedb.ErrInvalidVector)
				require.ErrorIs(t, err, livedb.ErrInvalidDocument)
				assert.Contains(t, err.Error(), `field "embedding" of vector index memories.by_embedding`)
				assert.Contains(t, err.Error(), c.want)
				err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					return m.DB.Patch(good, livedb.Doc{"embedding": c.vec})
				})
				require.ErrorIs(t, err, livedb.ErrInvalidVector)
				docs := mustCollect(t, db, "memories")
				require.Len(t, docs, 1, "the refused insert wrote nothing")
				assert.Equal(t, []any{1.0, 0.0, 0.0}, docs[0]["embedding"], "the refused patch wrote nothing")
			})
		}
	})
}

// TestReader_VectorSearch_BadArguments checks the errors of a search.
func TestReader_VectorSearch_BadArguments(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{"memories": vecTable().Index("by_kind", "kind")})
	var f livedb.FilterBuilder
	q := make([]float64, vecDims)
	cases := []struct {
		name    string
		index   string
		vec     []float64
		opts    livedb.VectorSearchOptions
		want    error
		message string
	}{
		{"wrong dimensions", "by_embedding", []float64{1, 2}, livedb.VectorSearchOptions{}, livedb.ErrInvalidVector, "livedb: vector search memories.by_embedding: invalid vector: the vector has 2 dimensions, the index 8"},
		{"NaN", "by_embedding", append([]float64{math.NaN()}, q[1:]...), livedb.VectorSearchOptions{}, livedb.ErrInvalidVector, "component 0 is NaN"},
		{"limit too big", "by_embedding", q, livedb.VectorSearchOptions{Limit: 257}, livedb.ErrInvalidQuery, "limit 257 is not between 1 and 256"},
		{"negative limit", "by_embedding", q, livedb.VectorSearchOptions{Limit: -1}, livedb.ErrInvalidQuery, "limit -1"},
		{"not a filter field", "by_embedding", q, livedb.VectorSearchOptions{Filter: f.Eq(f.Field("text"), "x")}, livedb.ErrInvalidQuery, `"text", which is not a filter field`},
		{"and", "by_embedding", q, livedb.VectorSearchOptions{Filter: f.And(f.Eq(f.Field("kind"), "x"), f.Eq(f.Field("tag"), "y"))}, livedb.ErrInvalidQuery, "not an Eq of a filter field"},
		{"neq", "by_embedding", q, livedb.VectorSearchOptions{Filter: f.Neq(f.Field("kind"), "x")}, livedb.ErrInvalidQuery, "not an Eq"},
		{"two fields", "by_embedding", q, livedb.VectorSearchOptions{Filter: f.Eq(f.Field("kind"), f.Field("tag"))}, livedb.ErrInvalidQuery, "does not compare a field with a value"},
		{"unknown index", "nope", q, livedb.VectorSearchOptions{}, livedb.ErrIndexNotFound, "memories.nope"},
		{"database index", "by_kind", q, livedb.VectorSearchOptions{}, livedb.ErrIndexNotFound, "memories.by_kind"},
	}
	forEachBackend(t, s, func(t *testing.T, db *livedb.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := db.Query(context.Background(), func(qc *livedb.QueryCtx) error {
					_, err := qc.DB.VectorSearch("memories", c.index, c.vec, c.opts)
					return err
				})
				require.ErrorIs(t, err, c.want)
				assert.Contains(t, err.Error(), c.message)
			})
		}
		err := db.Query(context.Background(), func(qc *livedb.QueryCtx) error {
			_, err := qc.DB.Query("memories").WithIndex("by_embedding", nil).Collect()
			return err
		})
		require.ErrorIs(t, err, livedb.ErrIndexNotFound, "a vector index is not a database index")
		assert.Contains(t, err.Error(), "search it with VectorSearch")
	})
}

// TestDefineSchema_VectorIndex_Mistakes checks the definition rules.
func TestDefineSchema_VectorIndex_Mistakes(t *testing.T) {
	doc := v.Object(v.Fields{"e": v.Array(v.Float64()), "s": v.String(), "a": v.Array(v.String()), "o": v.Optional(v.Array(v.Float64()))})
	many := make([]string, 17)
	for i := range many {
		many[i] = fmt.Sprintf("f%d", i)
	}
	cases := []struct {
		name string
		tbl  *livedb.TableDefinition
		want string // "" for a valid definition
	}{
		{"valid", livedb.DefineTable(doc).VectorIndex("by_e", "e", 2, "s"), ""},
		{"optional field", livedb.DefineTable(doc).VectorIndex("by_o", "o", 4096), ""},
		{"any", livedb.DefineTable(v.Any()).VectorIndex("by_x", "x.y", 3, "k"), ""},
		{"one dimension", livedb.DefineTable(doc).VectorIndex("by_e", "e", 1), "Dimensions 1 must be between 2 and 4096."},
		{"too many dimensions", livedb.DefineTable(doc).VectorIndex("by_e", "e", 4097), "Dimensions 4097 must be between 2 and 4096."},
		{"string field", livedb.DefineTable(doc).VectorIndex("by_s", "s", 3), `needs the field "s" to be v.array(v.float64()), found v.string()`},
		{"array of strings", livedb.DefineTable(doc).VectorIndex("by_a", "a", 3), `found v.array(v.string())`},
		{"missing field", livedb.DefineTable(doc).VectorIndex("by_z", "z", 3), `needs the field "z"`},
		{"missing filter field", livedb.DefineTable(doc).VectorIndex("by_e", "e", 3, "z"), `references the field "z" that does not exist`},
		{"same name as an index", livedb.DefineTable(doc).Index("by_e", "s").VectorIndex("by_e", "e", 3), `has two or more definitions of index "by_e"`},
		{"same name twice", livedb.DefineTable(doc).VectorIndex("by_e", "e", 3).VectorIndex("by_e", "e", 4), `has two or more definitions of index "by_e"`},
		{"too many filter fields", livedb.DefineTable(v.Any()).VectorIndex("by_e", "e", 3, many...), "may have up to 16 filter fields, not 17"},
		{"duplicate filter field", livedb.DefineTable(doc).VectorIndex("by_e", "e", 3, "s", "s"), `Duplicate filter field "s"`},
		{"vector field filtered", livedb.DefineTable(v.Any()).VectorIndex("by_e", "e", 3, "e"), `cannot also be a filter field`},
		{"reserved name", livedb.DefineTable(doc).VectorIndex("by_id", "e", 3), "the name is reserved"},
		{"reserved field", livedb.DefineTable(v.Any()).VectorIndex("by_e", "_e", 3), "fields starting with `_` are not allowed"},
		{"five vector indexes", livedb.DefineTable(v.Any()).VectorIndex("a", "e", 3).VectorIndex("b", "e", 3).VectorIndex("c", "e", 3).VectorIndex("d", "e", 3).VectorIndex("e", "e", 3), "cannot have more than 4 vector indexes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := livedb.DefineSchema(livedb.Tables{"t": c.tbl}).Err()
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, livedb.ErrInvalidSchema)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestSchemaFromJSON_VectorIndexes_RoundTrip reads Convex's vectorIndexes
// and writes them back.
func TestSchemaFromJSON_VectorIndexes_RoundTrip(t *testing.T) {
	in := `{"tables":[{"tableName":"memories","indexes":[],"stagedDbIndexes":[],"searchIndexes":[],"stagedSearchIndexes":[],` +
		`"vectorIndexes":[{"indexDescriptor":"by_embedding","vectorField":"embedding","dimensions":1536,"filterFields":["kind","workflowId"]},` +
		`{"indexDescriptor":"by_title","vectorField":"title","dimensions":3,"filterFields":[]}],` +
		`"stagedVectorIndexes":[],"documentType":null}],"schemaValidation":true}`
	s, err := livedb.SchemaFromJSON([]byte(in))
	require.NoError(t, err)
	td, ok := s.Table("memories")
	require.True(t, ok)
	assert.Equal(t, []livedb.VectorIndexDefinition{
		{Name: "by_embedding", VectorField: "embedding", Dimensions: 1536, FilterFields: []string{"kind", "workflowId"}},
		{Name: "by_title", VectorField: "title", Dimensions: 3, FilterFields: []string{}},
	}, td.VectorIndexes())
	out, err := s.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, strings.ReplaceAll(in, `"documentType":null`, `"documentType":{"type":"any"}`), string(out))

	_, err = livedb.SchemaFromJSON([]byte(strings.Replace(in, `"dimensions":1536`, `"dimensions":5000`, 1)))
	require.ErrorIs(t, err, livedb.ErrInvalidSchema)
	assert.Contains(t, err.Error(), `index "by_embedding": Dimensions 5000`)
	_, err = livedb.SchemaFromJSON([]byte(strings.Replace(in, `"vectorField":"embedding",`, ``, 1)))
	assert.ErrorContains(t, err, `missing "vectorField"`)
}

// TestOpen_VectorIndex_AddedAndDropped adds a vector index to a file with
// documents (backfilled), searches it, drops it again, and refuses to
// add one over a document whose vector it cannot take.
func TestOpen_VectorIndex_AddedAndDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	plain := livedb.DefineSchema(livedb.Tables{"memories": livedb.DefineTable(v.Any())})
	db, err := livedb.Open(path, plain, &livedb.Options{NoSync: true})
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for range 50 {
			if _, err := m.DB.Insert("memories", vecRandomDoc(r)); err != nil {
				return err
			}
		}
		return nil
	})
	livedbtest.MustCheckClose(t, db)

	withIndex := livedb.DefineSchema(livedb.Tables{"memories": livedb.DefineTable(v.Any()).VectorIndex("by_embedding", "embedding", vecDims, "kind", "tag")})
	db, err = livedb.Open(path, withIndex, &livedb.Options{NoSync: true})
	require.NoError(t, err)
	rep := db.OpenReport()
	require.Len(t, rep.IndexesAdded, 1)
	assert.Equal(t, "by_embedding", rep.IndexesAdded[0].Index)
	docs := mustCollect(t, db, "memories")
	q := vecFloats(vecRandom(r, vecDims))
	vecAssertSame(t, vecRefSearch(docs, q, 20, func(livedb.Doc) bool { return true }), mustVectorSearch(t, db, q, livedb.VectorSearchOptions{Limit: 20}), "after backfill")
	livedbtest.MustCheckClose(t, db)

	db, err = livedb.Open(path, plain, &livedb.Options{NoSync: true})
	require.NoError(t, err)
	require.Len(t, db.OpenReport().IndexesDropped, 1)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("memories", livedb.Doc{"embedding": []any{1.0, 2.0}})
		return err
	})
	livedbtest.MustCheckClose(t, db)

	_, err = livedb.Open(path, withIndex, &livedb.Options{NoSync: true})
	require.ErrorIs(t, err, livedb.ErrInvalidVector, "a document with a 2-dimension vector cannot enter an 8-dimension index")
	assert.Contains(t, err.Error(), "vector index memories.by_embedding")
}

// TestSubscribe_VectorSearch_Precision subscribes to a filtered top 2 and
// checks which commits re-run it: only those that can change its answer.
// The filter is on the first filter field (the scan's intervals are the
// filter) and on the second (the whole index is scanned and filtered).
func TestSubscribe_VectorSearch_Precision(t *testing.T) {
	for _, field := range []string{"kind", "tag"} {
		t.Run("filter="+field, func(t *testing.T) { vecPrecision(t, field) })
	}
}

func vecPrecision(t *testing.T, field string) {
	forEachBackend(t, vecSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		e := func(i int, x float64) []any {
			out := make([]any, vecDims)
			for j := range out {
				out[j] = 0.0
			}
			out[i] = x
			out[(i+1)%vecDims] = 1 - x
			return out
		}
		// in passes the filter, out does not.
		in := func(vec []any) livedb.Doc { return livedb.Doc{"kind": "note", "tag": "x", "embedding": vec} }
		out := func(vec []any) livedb.Doc { return livedb.Doc{"kind": "todo", "tag": "y", "embedding": vec} }
		want := map[string]string{"kind": "note", "tag": "x"}[field]
		insert := func(d livedb.Doc) livedb.ID {
			var id livedb.ID
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				var err error
				id, err = m.DB.Insert("memories", d)
				return err
			})
			return id
		}
		a := insert(in(e(0, 1)))
		b := insert(in(e(0, 0.8)))
		far := insert(in(e(3, 1)))
		sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) ([]livedb.VectorResult, error) {
			var f livedb.FilterBuilder
			return q.DB.VectorSearch("memories", "by_embedding", []float64{1, 0, 0, 0, 0, 0, 0, 0}, livedb.VectorSearchOptions{Limit: 2, Filter: f.Eq(f.Field(field), want)})
		})
		require.NoError(t, err)
		defer sub.Close()
		first := <-sub.Updates()
		require.NoError(t, first.Err)
		require.Equal(t, []livedb.ID{a, b}, []livedb.ID{first.Value[0].ID, first.Value[1].ID})

		step := func(name string, wantRerun bool, write func(m *livedb.MutationCtx) error) {
			t.Helper()
			before := livedb.SubscriptionReruns(sub)
			ts, err := db.MutationTS(ctx, write)
			require.NoError(t, err, name)
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			_, err = db.WaitSubscriptions(wctx, ts)
			require.NoError(t, err, "%s: the subscriptions did not catch up with the commit within a minute", name)
			reran := livedb.SubscriptionReruns(sub) > before
			assert.Equal(t, wantRerun, reran, "%s: re-run", name)
		}
		ins := func(d livedb.Doc) func(m *livedb.MutationCtx) error {
			return func(m *livedb.MutationCtx) error { _, err := m.DB.Insert("memories", d); return err }
		}
		patch := func(id livedb.ID, d livedb.Doc) func(m *livedb.MutationCtx) error {
			return func(m *livedb.MutationCtx) error { return m.DB.Patch(id, d) }
		}
		step("close vector that fails the filter", false, ins(out(e(0, 1))))
		step("far vector", false, ins(in(e(4, 1))))
		step("document without a vector", false, ins(livedb.Doc{"kind": "note", "tag": "x", "text": "no vector"}))
		step("patch of a non-result, vector kept", false, patch(far, livedb.Doc{"text": "x"}))
		step("non-result moves, still far", false, patch(far, livedb.Doc{"embedding": e(5, 1)}))
		step("delete of a non-result", false, func(m *livedb.MutationCtx) error { return m.DB.Delete(far) })
		step("patch of the last result", true, patch(b, livedb.Doc{"text": "y"}))
		c := livedb.ID("")
		step("vector that enters the top 2", true, func(m *livedb.MutationCtx) error {
			var err error
			c, err = m.DB.Insert("memories", in(e(0, 0.9)))
			return err
		})
		step("non-result moves into the top 2", true, patch(b, livedb.Doc{"embedding": e(0, 0.95)}))
		step("patch of the first result", true, patch(a, livedb.Doc{"text": "y"}))
		step("delete of a result", true, func(m *livedb.MutationCtx) error { return m.DB.Delete(a) })
		step("last result leaves the filter", true, patch(b, livedb.Doc{"kind": "todo", "tag": "y"}))
		step("result moves far", true, patch(c, livedb.Doc{"embedding": e(6, 1)}))
	})
}

// TestSubscribe_VectorSearch_FewerThanLimit re-runs a search with fewer
// results than its limit on any matching vector, however far.
func TestSubscribe_VectorSearch_FewerThanLimit(t *testing.T) {
	forEachBackend(t, vecSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) ([]livedb.VectorResult, error) {
			return q.DB.VectorSearch("memories", "by_embedding", []float64{1, 0, 0, 0, 0, 0, 0, 0}, livedb.VectorSearchOptions{Limit: 3})
		})
		require.NoError(t, err)
		defer sub.Close()
		require.Empty(t, (<-sub.Updates()).Value)
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			id, err = m.DB.Insert("memories", livedb.Doc{"kind": "fact", "embedding": []any{-1.0, 0.0, 0, 0, 0, 0, 0, 0.0}})
			return err
		})
		select {
		case u := <-sub.Updates():
			require.NoError(t, u.Err)
			require.Equal(t, []livedb.VectorResult{{ID: id, Score: -1}}, u.Value)
		case <-time.After(time.Minute):
			t.Fatal("no update within a minute after inserting the only vector")
		}
	})
}

// TestOpenSharedMemLog_VectorIndex_SameEverywhere writes through one
// process of a shared database and searches through another, which
// applied the log: the answers, and the indexes (Check), agree.
func TestOpenSharedMemLog_VectorIndex_SameEverywhere(t *testing.T) {
	log := livedb.NewSharedMemLog()
	p1, err := livedb.OpenSharedMemLog(log, vecSchema(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { livedbtest.MustCheckClose(t, p1) })
	p2, err := livedb.OpenSharedMemLog(log, vecSchema(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { livedbtest.MustCheckClose(t, p2) })
	r := rand.New(rand.NewPCG(3, 4))
	var ts uint64
	for range 3 {
		ts, err = p1.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
			for range 40 {
				if _, err := m.DB.Insert("memories", vecRandomDoc(r)); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, p2.CatchUp(ctx, ts))
	var f livedb.FilterBuilder
	for range 5 {
		q := vecFloats(vecRandom(r, vecDims))
		opts := livedb.VectorSearchOptions{Limit: 15, Filter: f.Eq(f.Field("kind"), "todo")}
		want := vecRefSearch(mustCollect(t, p1, "memories"), q, 15, func(d livedb.Doc) bool { return d["kind"] == "todo" })
		vecAssertSame(t, want, mustVectorSearch(t, p1, q, opts), "writer")
		vecAssertSame(t, want, mustVectorSearch(t, p2, q, opts), "reader of the log")
	}
	require.NoError(t, p1.Check(context.Background()))
	require.NoError(t, p2.Check(context.Background()))
}
