package livedb_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

func TestSchema_SearchIndex_DefinitionErrors(t *testing.T) {
	fields := v.Fields{"body": v.String(), "n": v.Float64(), "kind": v.Literal("x"), "status": v.Optional(v.String())}
	many := make([]string, 17)
	for i := range many {
		many[i] = "f" + string(rune('a'+i))
		fields[many[i]] = v.String()
	}
	for _, tc := range []struct {
		name  string
		table *livedb.TableDefinition
		index string
		want  string
	}{
		{"reserved name", livedb.DefineTable(v.Object(fields)).SearchIndex("by_id", "body"), "by_id", "reserved"},
		{"bad name", livedb.DefineTable(v.Object(fields)).SearchIndex("1s", "body"), "1s", "Invalid index name"},
		{"name of a database index", livedb.DefineTable(v.Object(fields)).Index("s", "n").SearchIndex("s", "body"), "s", "two or more definitions"},
		{"duplicate name", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "body").SearchIndex("s", "status"), "s", "two or more definitions"},
		{"unknown search field", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "nope"), "s", `references the field "nope" that does not exist`},
		{"number search field", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "n"), "s", "must be a string"},
		{"literal search field", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "kind"), "s", "must be a string"},
		{"unknown filter field", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "body", "nope"), "s", `references the field "nope"`},
		{"duplicate filter field", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "body", "n", "n"), "s", "Duplicate filter field"},
		{"reserved filter field", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "body", "_creationTime"), "s", "Reserved fields"},
		{"17 filter fields", livedb.DefineTable(v.Object(fields)).SearchIndex("s", "body", many...), "s", "up to 16 filter fields"},
		{"five search indexes", livedb.DefineTable(v.Object(fields)).SearchIndex("a", "body").SearchIndex("b", "body").
			SearchIndex("c", "body").SearchIndex("d", "body").SearchIndex("e", "body"), "", "more than 4 search indexes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := livedb.DefineSchema(livedb.Tables{"t": tc.table}).Err()
			require.ErrorIs(t, err, livedb.ErrInvalidSchema)
			var se *livedb.SchemaError
			require.True(t, errors.As(err, &se), "%v", err)
			require.Equal(t, "t", se.Table)
			require.Equal(t, tc.index, se.Index)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	// The accepted forms: optional strings, 16 filter fields, v.Any().
	ok := livedb.DefineSchema(livedb.Tables{
		"t": livedb.DefineTable(v.Object(fields)).SearchIndex("s", "status", many[:16]...),
		"u": livedb.DefineTable(v.Any()).SearchIndex("s", "a.b", "c"),
	})
	require.NoError(t, ok.Err())
	def, _ := ok.Table("t")
	require.Equal(t, []livedb.SearchIndexDefinition{{Name: "s", SearchField: "status", FilterFields: many[:16]}}, def.SearchIndexes())
}

func TestSchema_SearchIndex_JSONRoundTrip(t *testing.T) {
	s := searchSchema()
	b := MustMarshalSchema(t, s)
	require.Contains(t, string(b), `"searchIndexes":[{"indexDescriptor":"search_body","searchField":"body","filterFields":["status","tag"]}]`)
	back, err := livedb.SchemaFromJSON(b)
	require.NoError(t, err)
	def, _ := back.Table("notes")
	require.Equal(t, []livedb.SearchIndexDefinition{{Name: "search_body", SearchField: "body", FilterFields: []string{"status", "tag"}}}, def.SearchIndexes())
	require.Equal(t, string(b), string(MustMarshalSchema(t, back)))

	// Convex's own export, filterFields left out, loads with none.
	convex := `{"tables":[{"tableName":"messages","indexes":[],"searchIndexes":[{"indexDescriptor":"search_body","searchField":"body"}],` +
		`"documentType":{"type":"object","value":{"body":{"fieldType":{"type":"string"},"optional":false}}}}],"schemaValidation":true}`
	cs, err := livedb.SchemaFromJSON([]byte(convex))
	require.NoError(t, err)
	def, _ = cs.Table("messages")
	require.Equal(t, []livedb.SearchIndexDefinition{{Name: "search_body", SearchField: "body"}}, def.SearchIndexes())
	// A bad search index in JSON is refused by the same rules.
	_, err = livedb.SchemaFromJSON([]byte(strings.Replace(convex, `"searchField":"body"`, `"searchField":"nope"`, 1)))
	require.ErrorIs(t, err, livedb.ErrInvalidSchema)
}

// TestOpen_SearchIndex_AddedAndDropped opens a file that holds documents
// with a schema that adds a search index (built from the documents in the
// Open's commit), then with one that drops it.
func TestOpen_SearchIndex_AddedAndDropped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "search.db")
	plain := livedb.DefineSchema(livedb.Tables{"notes": livedb.DefineTable(v.Object(v.Fields{
		"body": v.Optional(v.String()), "status": v.String(), "tag": v.Optional(v.String()), "n": v.Optional(v.Int64()),
	})).Index("by_status", "status")})
	open := func(s *livedb.Schema) *livedb.DB {
		t.Helper()
		db, err := livedb.Open(path, s, &livedb.Options{NoSync: true})
		require.NoError(t, err)
		return db
	}
	db := open(plain)
	var want livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for range 20 {
			if _, err := m.DB.Insert("notes", livedb.Doc{"body": "plan review", "status": "todo"}); err != nil {
				return err
			}
		}
		var err error
		want, err = m.DB.Insert("notes", livedb.Doc{"body": "review the login fix", "status": "done"})
		return err
	})
	livedbtest.MustCheckClose(t, db)

	db = open(searchSchema())
	var prefix []byte
	require.NoError(t, db.Close())
	mustEditKV(t, path, func(snap kv.Snapshot, _ *kv.Batch) { prefix = searchIndexPrefix(t, snap, "notes", "search_body") })
	require.NotNil(t, prefix)
	db = open(searchSchema())
	report := db.OpenReport()
	require.Empty(t, report.IndexesAdded, "opening with the same schema again builds nothing")
	require.NoError(t, db.Close())
	db = open(plain)
	require.NoError(t, db.Close())
	db = open(searchSchema())
	report = db.OpenReport()
	require.Len(t, report.IndexesAdded, 1)
	require.Equal(t, livedb.IndexChange{Table: "notes", Index: "search_body", Fields: []string{"body", "status", "tag"}, Entries: 21}, report.IndexesAdded[0])
	require.NoError(t, db.Query(ctx, func(q *livedb.QueryCtx) error {
		docs, err := searchNotes(q.DB, "login", map[string]any{"status": "done"}).Collect()
		require.Len(t, docs, 1)
		require.Equal(t, want, docs[0].ID())
		docs, err2 := searchNotes(q.DB, "review", nil).Collect()
		require.Len(t, docs, 21)
		require.Equal(t, want, docs[len(docs)-1].ID(), "the longer document ranks last")
		return errors.Join(err, err2)
	}))
	livedbtest.MustCheckClose(t, db)

	db = open(plain)
	require.Len(t, db.OpenReport().IndexesDropped, 1)
	err := db.Query(ctx, func(q *livedb.QueryCtx) error {
		_, err := searchNotes(q.DB, "login", nil).Collect()
		return err
	})
	require.ErrorIs(t, err, livedb.ErrIndexNotFound)
	livedbtest.MustCheckClose(t, db)
	mustEditKV(t, path, func(snap kv.Snapshot, _ *kv.Batch) {
		require.Nil(t, searchIndexPrefix(t, snap, "notes", "search_body"))
		it := snap.Iter(prefix, append(append([]byte(nil), prefix...), 0xFF), false)
		defer it.Close()
		require.False(t, it.Next(), "a key of the first dropped search index is left: %x", it.Key())
	})
}

func TestQuery_WithSearchIndex_Errors(t *testing.T) {
	db := livedbtest.New(t, searchSchema())
	for _, tc := range []struct {
		name  string
		build func(r *livedb.Reader) *livedb.Query
		want  error
		text  string
	}{
		{"unknown index", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("nope", func(s livedb.SearchFilter) livedb.SearchFilter { return s.Search("body", "x") })
		}, livedb.ErrIndexNotFound, "nope"},
		{"no search", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", nil)
		}, livedb.ErrInvalidQuery, "exactly one Search"},
		{"two searches", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter { return s.Search("body", "a").Search("body", "b") })
		}, livedb.ErrInvalidQuery, "called 2 times"},
		{"wrong field", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter { return s.Search("status", "a") })
		}, livedb.ErrInvalidQuery, `searches field "body"`},
		{"not a filter field", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter { return s.Search("body", "a").Eq("n", 1) })
		}, livedb.ErrInvalidQuery, `"n" is not a filter field`},
		{"17 terms", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter {
				return s.Search("body", "a b c d e f g h i j k l m n o p q")
			})
		}, livedb.ErrInvalidQuery, "17 terms"},
		{"9 filters", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter {
				s = s.Search("body", "a")
				for range 9 {
					s = s.Eq("status", "x")
				}
				return s
			})
		}, livedb.ErrInvalidQuery, "9 equality filters"},
		{"order", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter { return s.Search("body", "a") }).Order(livedb.Desc)
		}, livedb.ErrInvalidQuery, "cannot specify an order"},
		{"with an index", func(r *livedb.Reader) *livedb.Query {
			return r.Query("notes").WithIndex("by_status", nil).WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter { return s.Search("body", "a") })
		}, livedb.ErrInvalidQuery, "not together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
				_, err := tc.build(q.DB).Collect()
				return err
			})
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.text)
		})
	}
	// 16 distinct terms are allowed; repeats count once; no terms find nothing.
	require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		for _, text := range []string{"a b c d e f g h i j k l m n o p", "a a a a a a a a a a a a a a a a a a", "!!! ..."} {
			docs, err := searchNotes(q.DB, text, nil).Collect()
			if err != nil {
				return err
			}
			require.Empty(t, docs)
		}
		return nil
	}))
}

// TestQuery_WithSearchIndex_Paginate checks that pages of a search, joined,
// are its Collect, on every backend.
func TestQuery_WithSearchIndex_Paginate(t *testing.T) {
	forEachBackend(t, searchSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 25 {
				body := strings.Repeat("bug ", 1+i%4) + strings.Repeat("other ", i%3)
				if _, err := m.DB.Insert("notes", livedb.Doc{"body": body, "status": "todo"}); err != nil {
					return err
				}
			}
			return nil
		})
		var all []livedb.Doc
		require.NoError(t, db.Query(ctx, func(q *livedb.QueryCtx) (err error) {
			all, err = searchNotes(q.DB, "bug", nil).Collect()
			return err
		}))
		require.Len(t, all, 25)
		var paged []livedb.Doc
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10, "pagination does not end")
			var res livedb.PaginationResult[livedb.Doc]
			require.NoError(t, db.Query(ctx, func(q *livedb.QueryCtx) (err error) {
				res, err = searchNotes(q.DB, "bug", nil).Paginate(livedb.PaginationOptions{NumItems: 7, Cursor: cursor})
				return err
			}))
			paged = append(paged, res.Page...)
			if res.IsDone {
				break
			}
			cursor = res.ContinueCursor
		}
		require.Equal(t, all, paged)
	})
}
