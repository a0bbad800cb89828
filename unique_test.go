package livedb_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

// uniqueSchema has users with a unique email (optional) and a unique pair
// (org, handle).
func uniqueSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"users": livedb.DefineTable(v.Object(v.Fields{
			"email":  v.Optional(v.Union(v.String(), v.Null())),
			"org":    v.String(),
			"handle": v.String(),
			"n":      v.Optional(v.Float64()),
		})).Index("by_email", "email").Unique().
			Index("by_org_handle", "org", "handle").Unique().
			Index("by_org", "org"),
	})
}

// mustInsertUser inserts a user and returns its ID.
func mustInsertUser(t *testing.T, db *livedb.DB, doc livedb.Doc) livedb.ID {
	t.Helper()
	var id livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		var err error
		id, err = m.DB.Insert("users", doc)
		return err
	})
	return id
}

func TestTableDefinition_Unique_Insert(t *testing.T) {
	forEachBackend(t, uniqueSchema(), func(t *testing.T, db *livedb.DB) {
		a := mustInsertUser(t, db, livedb.Doc{"email": "a@x", "org": "o", "handle": "a"})
		var ue *livedb.UniqueError
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("users", livedb.Doc{"email": "a@x", "org": "o", "handle": "b"})
			return err
		})
		require.ErrorIs(t, err, livedb.ErrUniqueViolation)
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "users", ue.Table)
		assert.Equal(t, "by_email", ue.Index)
		assert.Equal(t, []string{"email"}, ue.Fields)
		assert.Equal(t, []any{"a@x"}, ue.Values)
		assert.Equal(t, a, ue.Existing)
		assert.Equal(t, livedb.ID(""), ue.ID)
		assert.Contains(t, err.Error(), "by_email")
		assert.Contains(t, err.Error(), string(a))
		assert.Len(t, mustCollect(t, db, "users"), 1, "nothing written")

		// The pair: same org, other handle is fine; same both is not.
		mustInsertUser(t, db, livedb.Doc{"org": "o", "handle": "b"})
		err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("users", livedb.Doc{"org": "o", "handle": "a", "email": "other@x"})
			return err
		})
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "by_org_handle", ue.Index)
		assert.Equal(t, []any{"o", "a"}, ue.Values)
		assert.Equal(t, a, ue.Existing)
	})
}

func TestTableDefinition_Unique_WholeMutationFails(t *testing.T) {
	forEachBackend(t, uniqueSchema(), func(t *testing.T, db *livedb.DB) {
		mustInsertUser(t, db, livedb.Doc{"email": "a@x", "org": "o", "handle": "a"})
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			if _, err := m.DB.Insert("users", livedb.Doc{"org": "o", "handle": "fresh"}); err != nil {
				return err
			}
			_, err := m.DB.Insert("users", livedb.Doc{"email": "a@x", "org": "o", "handle": "c"})
			return err
		})
		require.ErrorIs(t, err, livedb.ErrUniqueViolation)
		assert.Len(t, mustCollect(t, db, "users"), 1, "the mutation's earlier insert is not committed")

		// A mutation that catches the error goes on, and commits the rest.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("users", livedb.Doc{"email": "a@x", "org": "o", "handle": "c"})
			if !errors.Is(err, livedb.ErrUniqueViolation) {
				return err
			}
			_, err = m.DB.Insert("users", livedb.Doc{"email": "c@x", "org": "o", "handle": "c"})
			return err
		})
		assert.Len(t, mustCollect(t, db, "users"), 2)
	})
}

func TestTableDefinition_Unique_PatchReplace(t *testing.T) {
	forEachBackend(t, uniqueSchema(), func(t *testing.T, db *livedb.DB) {
		a := mustInsertUser(t, db, livedb.Doc{"email": "a@x", "org": "o", "handle": "a"})
		b := mustInsertUser(t, db, livedb.Doc{"email": "b@x", "org": "o", "handle": "b"})
		var ue *livedb.UniqueError
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			return m.DB.Patch(b, livedb.Doc{"email": "a@x"})
		})
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, b, ue.ID)
		assert.Equal(t, a, ue.Existing)
		err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			return m.DB.Replace(b, livedb.Doc{"org": "o", "handle": "a"})
		})
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "by_org_handle", ue.Index)
		assert.Equal(t, b, ue.ID)

		// A document keeps its own values; other fields may change.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(a, livedb.Doc{"n": 1.0, "email": "a@x"})
		})
		// Swapping two values through a third is fine, in one mutation.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			if err := m.DB.Patch(a, livedb.Doc{"email": "tmp@x"}); err != nil {
				return err
			}
			if err := m.DB.Patch(b, livedb.Doc{"email": "a@x"}); err != nil {
				return err
			}
			return m.DB.Patch(a, livedb.Doc{"email": "b@x"})
		})
		// A value freed by a delete in the same mutation can be taken.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			if err := m.DB.Delete(a); err != nil {
				return err
			}
			_, err := m.DB.Insert("users", livedb.Doc{"email": "b@x", "org": "o", "handle": "a"})
			return err
		})
		docs := mustCollect(t, db, "users")
		require.Len(t, docs, 2)
	})
}

func TestTableDefinition_Unique_UndefinedExemptNullCollides(t *testing.T) {
	forEachBackend(t, uniqueSchema(), func(t *testing.T, db *livedb.DB) {
		mustInsertUser(t, db, livedb.Doc{"org": "o", "handle": "a"})
		mustInsertUser(t, db, livedb.Doc{"org": "o", "handle": "b"}) // no email either: no collision
		mustInsertUser(t, db, livedb.Doc{"org": "o", "handle": "c", "email": nil})
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("users", livedb.Doc{"org": "o", "handle": "d", "email": nil})
			return err
		})
		require.ErrorIs(t, err, livedb.ErrUniqueViolation, "null is a value")
		assert.Len(t, mustCollect(t, db, "users"), 3)
	})
}

func TestTableDefinition_Unique_ConcurrentInsertsOneCommits(t *testing.T) {
	forEachBackend(t, uniqueSchema(), func(t *testing.T, db *livedb.DB) {
		// Both mutations read the email's range before either commits: each
		// waits at a barrier after its check, so the second's first run must
		// conflict, and its re-run must fail on the constraint.
		const n = 2
		var ready sync.WaitGroup
		ready.Add(n)
		var once [n]sync.Once
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("users", livedb.Doc{"email": "same@x", "org": "o", "handle": string(rune('a' + i))})
					once[i].Do(func() { ready.Done(); ready.Wait() })
					return err
				})
			}()
		}
		wg.Wait()
		ok, failed := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, livedb.ErrUniqueViolation):
				failed++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 1, ok, "exactly one commits")
		assert.Equal(t, 1, failed, "the other fails on the constraint")
		assert.Len(t, mustCollect(t, db, "users"), 1)
	})
}

func TestOpen_UniqueRefusesDuplicates(t *testing.T) {
	loose := livedb.DefineSchema(livedb.Tables{
		"users": livedb.DefineTable(v.Object(v.Fields{"email": v.String()})).Index("by_email", "email"),
	})
	strict := livedb.DefineSchema(livedb.Tables{
		"users": livedb.DefineTable(v.Object(v.Fields{"email": v.String()})).Index("by_email", "email").Unique(),
	})
	path := filepath.Join(t.TempDir(), "u.db")
	db, err := livedb.Open(path, loose, &livedb.Options{NoSync: true})
	require.NoError(t, err)
	var ids []livedb.ID
	for _, e := range []string{"a", "b", "a"} {
		ids = append(ids, mustInsertUserEmail(t, db, e))
	}
	require.NoError(t, db.Close())

	_, err = livedb.Open(path, strict, &livedb.Options{NoSync: true})
	require.ErrorIs(t, err, livedb.ErrSchemaMismatch)
	var mm *livedb.SchemaMismatchError
	require.ErrorAs(t, err, &mm)
	require.Equal(t, 1, mm.Total)
	var ue *livedb.UniqueError
	require.ErrorIs(t, mm.Failures[0], livedb.ErrUniqueViolation)
	require.ErrorAs(t, mm.Failures[0], &ue)
	assert.Equal(t, "by_email", ue.Index)
	assert.Equal(t, []any{"a"}, ue.Values)
	assert.ElementsMatch(t, []livedb.ID{ids[0], ids[2]}, []livedb.ID{ue.ID, ue.Existing})
	msg := err.Error()
	assert.Contains(t, msg, "by_email")
	assert.True(t, strings.Contains(msg, string(ids[0])) && strings.Contains(msg, string(ids[2])), msg)

	// Nothing was written: the loose schema still opens, and after the
	// duplicate is gone the unique one does.
	db, err = livedb.Open(path, loose, &livedb.Options{NoSync: true})
	require.NoError(t, err)
	mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[2]) })
	require.NoError(t, db.Close())
	db, err = livedb.Open(path, strict, &livedb.Options{NoSync: true})
	require.NoError(t, err)
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("users", livedb.Doc{"email": "b"})
		return err
	})
	require.ErrorIs(t, err, livedb.ErrUniqueViolation, "the reopened index is unique")
	require.NoError(t, db.Check(context.Background()))
	require.NoError(t, db.Close())
}

func mustInsertUserEmail(t *testing.T, db *livedb.DB, email string) livedb.ID {
	t.Helper()
	return mustInsertUser(t, db, livedb.Doc{"email": email})
}

func TestSchema_Err_UniqueWithoutIndex(t *testing.T) {
	for name, def := range map[string]*livedb.TableDefinition{
		"unique":    livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Unique().Index("by_a", "a"),
		"aggregate": livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Aggregate().Index("by_a", "a"),
		"sum field": livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Index("by_a", "a").Aggregate("nope"),
		"sum twice": livedb.DefineTable(v.Object(v.Fields{"a": v.Float64()})).Index("by_a", "a").Aggregate("a", "a"),
	} {
		t.Run(name, func(t *testing.T) {
			s := livedb.DefineSchema(livedb.Tables{"t": def})
			require.ErrorIs(t, s.Err(), livedb.ErrInvalidSchema)
		})
	}
	s := livedb.DefineSchema(livedb.Tables{"t": livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Index("by_a", "a").Unique().Aggregate()})
	require.NoError(t, s.Err())
	def, _ := s.Table("t")
	ix, _ := def.IndexByName("by_a")
	assert.True(t, ix.Unique)
	assert.True(t, ix.Aggregate)
}

func TestImport_UniqueRefusesDuplicates(t *testing.T) {
	forEachBackend(t, uniqueSchema(), func(t *testing.T, db *livedb.DB) {
		a := mustInsertUser(t, db, livedb.Doc{"email": "a@x", "org": "o", "handle": "a"})
		lines := `{"email":"a@x","org":"p","handle":"z"}` + "\n"
		err := snapshot.ImportTable(context.Background(), db, "users", strings.NewReader(lines), &snapshot.ImportOptions{Mode: snapshot.Append})
		var ue *livedb.UniqueError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, a, ue.Existing)
		lines = `{"email":"q@x","org":"p","handle":"y"}` + "\n" + `{"email":"q@x","org":"p","handle":"z"}` + "\n"
		err = snapshot.ImportTable(context.Background(), db, "users", strings.NewReader(lines), &snapshot.ImportOptions{Mode: snapshot.Replace})
		require.ErrorIs(t, err, livedb.ErrUniqueViolation)
		assert.Len(t, mustCollect(t, db, "users"), 1, "nothing imported")
	})
}

// TestSchema_MarshalJSON_UniqueAndAggregate: the JSON form keeps unique and
// aggregate indexes (in members Convex ignores), so a database opened with
// its stored schema keeps them.
func TestSchema_MarshalJSON_UniqueAndAggregate(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{
		"t": livedb.DefineTable(v.Object(v.Fields{"a": v.String(), "n": v.Float64()})).
			Index("by_a", "a").Unique().Aggregate("n").
			Index("by_n", "n"),
	})
	require.NoError(t, s.Err())
	b, err := s.MarshalJSON()
	require.NoError(t, err)
	back, err := livedb.SchemaFromJSON(b)
	require.NoError(t, err)
	def, _ := back.Table("t")
	assert.Equal(t, []livedb.IndexDefinition{
		{Name: "by_a", Fields: []string{"a"}, Unique: true, Aggregate: true, Sums: []string{"n"}},
		{Name: "by_n", Fields: []string{"n"}},
	}, def.Indexes())
}
