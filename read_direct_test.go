package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// directThing reads the documents of directSchema: fields of the kinds a
// typed read stores straight from the stored bytes, and fields it hands to
// the struct mapping (containers, interfaces, pointers, times).
type directThing struct {
	ID    livedb.Ref[directThing] `json:"_id"`
	CT    float64                 `json:"_creationTime"`
	Group string                  `json:"group"`
	S     string                  `json:"s"`
	I8    int8                    `json:"i8"`
	N     int64                   `json:"n"`
	U     uint32                  `json:"u"`
	F     float32                 `json:"f"`
	B     bool                    `json:"b"`
	Ref   livedb.ID               `json:"ref"`
	Tags  []string                `json:"tags"`
	Meta  map[string]any          `json:"meta"`
	Any   any                     `json:"any"`
	Blob  []byte                  `json:"blob"`
	When  *time.Time              `json:"when"`
}

var directThings = livedb.NewTable[directThing]("things")

func directSchema() *livedb.Schema {
	opt := v.Optional(v.Any())
	return livedb.DefineSchema(livedb.Tables{
		"things": livedb.DefineTable(v.Object(v.Fields{
			"group": v.String(), "s": opt, "i8": opt, "n": opt, "u": opt, "f": opt, "b": opt, "ref": opt,
			"tags": opt, "meta": opt, "any": opt, "blob": opt, "when": opt, "extra": opt,
		})).Index("by_group", "group"),
	})
}

// directField returns a random value for a field of directThing: most of
// the time one that fits it, sometimes one that does not (then every way
// of reading the document fails, with the same error).
func directField(rng *rand.Rand, name string) any {
	if rng.IntN(25) == 0 {
		return []any{"misfit", int64(rng.IntN(3))}[rng.IntN(2)]
	}
	switch name {
	case "s", "ref":
		return []string{"", "plain", "ünïcode ✓", "k57" + fmt.Sprint(rng.IntN(1e6))}[rng.IntN(4)]
	case "i8":
		return int64(rng.IntN(256) - 128)
	case "n":
		return rng.Int64() - rng.Int64()
	case "u":
		return int64(rng.Uint32())
	case "f":
		return float64(rng.IntN(1<<20)) / 16
	case "b":
		return rng.IntN(2) == 0
	case "tags":
		return []any{"a", "b" + fmt.Sprint(rng.IntN(9))}
	case "meta":
		return map[string]any{"k": "v", "list": []any{int64(1), 2.5, nil}, "nested": map[string]any{"x": []byte{1}}}
	case "any":
		return []any{nil, true, int64(7), 1.5, "s", []byte{9}, []any{"x"}, map[string]any{"y": int64(1)}}[rng.IntN(8)]
	case "blob":
		return []byte{byte(rng.IntN(256)), 0, 255}
	case "when":
		return float64(1.7e12 + rng.IntN(1e9))
	}
	return "extra field no struct field takes"
}

// directDoc returns a random document of group g.
func directDoc(rng *rand.Rand, g string) livedb.Doc {
	d := livedb.Doc{"group": g}
	for _, name := range []string{"s", "i8", "n", "u", "f", "b", "ref", "tags", "meta", "any", "blob", "when", "extra"} {
		if rng.IntN(4) > 0 {
			d[name] = directField(rng, name)
		}
	}
	return d
}

// directReads are the typed reads of a document alone in its group; each
// returns the document read, or the error.
var directReads = []struct {
	name string
	read func(r *livedb.Reader, id livedb.Ref[directThing], group string) (directThing, error)
}{
	{"Get", func(r *livedb.Reader, id livedb.Ref[directThing], _ string) (directThing, error) {
		x, ok, err := directThings.Get(r, id)
		if err == nil && !ok {
			err = fmt.Errorf("%s not found", id)
		}
		return x, err
	}},
	{"Collect", func(r *livedb.Reader, _ livedb.Ref[directThing], g string) (directThing, error) {
		return directOne(directThings.Query(r).WithIndex("by_group", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", g) }).Collect())
	}},
	{"Take by_id", func(r *livedb.Reader, id livedb.Ref[directThing], _ string) (directThing, error) {
		return directOne(directThings.Query(r).WithIndex("by_id", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("_id", id) }).Take(5))
	}},
	{"Paginate", func(r *livedb.Reader, _ livedb.Ref[directThing], g string) (directThing, error) {
		p, err := directThings.Query(r).WithIndex("by_group", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", g) }).
			Paginate(livedb.PaginationOptions{NumItems: 3})
		return directOne(p.Page, err)
	}},
}

// directFromDoc is the map path of a typed read: FromDoc, whose error
// names no table where a Table's names its own.
func directFromDoc(d livedb.Doc) (directThing, error) {
	x, err := livedb.FromDoc[directThing](d)
	if err != nil {
		return x, errors.New(strings.Replace(err.Error(), "decode document", "decode things document", 1))
	}
	return x, nil
}

func directOne(xs []directThing, err error) (directThing, error) {
	if err == nil && len(xs) != 1 {
		err = fmt.Errorf("%d documents, want 1", len(xs))
	}
	if err != nil {
		return directThing{}, err
	}
	return xs[0], nil
}

// checkDirectReads reads every document of ids, in r, by every typed read,
// and checks each against the map path: Reader.Get, then FromDoc.
func checkDirectReads(t *testing.T, r *livedb.Reader, ids []livedb.ID, groups []string, when string) {
	t.Helper()
	for i, id := range ids {
		d, ok, err := r.Get(id)
		if err != nil || !ok {
			t.Fatalf("%s: Get %s: %v, %v", when, id, ok, err)
		}
		want, wantErr := directFromDoc(d)
		for _, rd := range directReads {
			got, err := rd.read(r, livedb.Ref[directThing](id), groups[i])
			switch {
			case wantErr != nil && (err == nil || err.Error() != wantErr.Error()):
				t.Fatalf("%s, %s of %v: error %v, the map path gives %v", when, rd.name, d, err, wantErr)
			case wantErr == nil && err != nil:
				t.Fatalf("%s, %s of %v: %v", when, rd.name, d, err)
			case wantErr == nil && !reflect.DeepEqual(got, want):
				t.Fatalf("%s, %s of %v:\n got  %#v\n want %#v", when, rd.name, d, got, want)
			}
		}
	}
}

// TestTable_Get_DirectReadEqualsMapPath checks, on random documents and on
// every backend, that typed reads (which decode the stored bytes straight
// into T) give what the map path gives, as T or as the error: on a
// version's first read (not cached), its second (cached then), later ones
// (cached), and in a mutation over its own writes.
func TestTable_Get_DirectReadEqualsMapPath(t *testing.T) {
	forEachBackend(t, directSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(19, 3))
		const n = 60
		ids := make([]livedb.ID, n)
		groups := make([]string, n)
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range ids {
				groups[i] = fmt.Sprintf("g%03d", i)
				var err error
				if ids[i], err = m.DB.Insert("things", directDoc(rng, groups[i])); err != nil {
					return err
				}
			}
			return nil
		})
		for round := range 3 {
			// Typed reads first: on round 0 they are the version's first reads.
			err := db.Query(ctx, func(q *livedb.QueryCtx) error {
				for i, id := range ids {
					for _, rd := range directReads {
						_, _ = rd.read(q.DB, livedb.Ref[directThing](id), groups[i])
					}
				}
				checkDirectReads(t, q.DB, ids, groups, fmt.Sprintf("query, round %d", round))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// A fresh query whose typed read is the first of each version.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i, id := range ids {
				if i%2 == 0 {
					if err := m.DB.Replace(id, directDoc(rng, groups[i])); err != nil {
						return err
					}
				}
			}
			return nil
		})
		err := db.Query(ctx, func(q *livedb.QueryCtx) error {
			for i, id := range ids {
				var x directThing
				var err error
				rd := directReads[i%len(directReads)]
				x, err = rd.read(q.DB, livedb.Ref[directThing](id), groups[i])
				d, _, _ := q.DB.Get(id)
				want, wantErr := directFromDoc(d)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || wantErr == nil && !reflect.DeepEqual(x, want) {
					t.Fatalf("first read by %s of %v: %#v, %v; the map path gives %#v, %v", rd.name, d, x, err, want, wantErr)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A mutation: its own writes (odd documents replaced) and the snapshot.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i, id := range ids {
				if i%2 == 1 {
					if err := m.DB.Replace(id, directDoc(rng, groups[i])); err != nil {
						return err
					}
				}
			}
			checkDirectReads(t, &m.DB.Reader, ids, groups, "mutation")
			return nil
		})
	})
}
