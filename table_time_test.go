package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// eventCode is a type stored as its text ("retry-3"): a struct with
// unexported fields, which the struct mapping could not store otherwise.
type eventCode struct {
	kind string
	n    int
}

var errBadCode = errors.New("event code: want kind-n")

func (c eventCode) MarshalText() ([]byte, error) {
	if c.kind == "" {
		return nil, errBadCode
	}
	return []byte(c.kind + "-" + strconv.Itoa(c.n)), nil
}

func (c *eventCode) UnmarshalText(b []byte) error {
	kind, n, ok := strings.Cut(string(b), "-")
	i, err := strconv.Atoi(n)
	if !ok || kind == "" || err != nil {
		return fmt.Errorf("%w, got %q", errBadCode, b)
	}
	*c = eventCode{kind: kind, n: i}
	return nil
}

// timedEvent has every form of time field, and text fields.
type timedEvent struct {
	ID      livedb.Ref[timedEvent] `json:"_id"`
	Created time.Time              `json:"_creationTime"`
	At      time.Time              `json:"at"`
	Due     *time.Time             `json:"due"`           // v.Optional: nil is absent
	Done    time.Time              `json:"done,omitzero"` // v.Optional: the zero time is absent
	Host    netip.Addr             `json:"host"`          // its text: "10.0.0.1"
	Code    eventCode              `json:"code"`          // its text: "retry-3"
}

// looseEvent reads the loose table, whose values the schema does not type.
type looseEvent struct {
	At   time.Time `json:"at"`
	Code eventCode `json:"code"`
}

func timedSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"events": livedb.DefineTable(v.Object(v.Fields{
			"at":   v.Float64(),
			"due":  v.Optional(v.Float64()),
			"done": v.Optional(v.Float64()),
			"host": v.String(),
			"code": v.String(),
		})).Index("by_at", "at"),
		"loose": livedb.DefineTable(v.Object(v.Fields{
			"at":   v.Optional(v.Any()),
			"code": v.Optional(v.Any()),
		})),
	})
}

var (
	timedEvents = livedb.NewTable[timedEvent]("events")
	looseEvents = livedb.NewTable[looseEvent]("loose")
)

// mustInsertEvent inserts e and returns its reference.
func mustInsertEvent(t *testing.T, db *livedb.DB, e timedEvent) livedb.Ref[timedEvent] {
	t.Helper()
	ref, err := livedb.MutationValue(context.Background(), db, func(m *livedb.MutationCtx) (livedb.Ref[timedEvent], error) {
		return timedEvents.Insert(m.DB, e)
	})
	require.NoError(t, err)
	return ref
}

// mustGetEvent reads an event both as a timedEvent and as a document.
func mustGetEvent(t *testing.T, db *livedb.DB, ref livedb.Ref[timedEvent]) (timedEvent, livedb.Doc) {
	t.Helper()
	var e timedEvent
	var d livedb.Doc
	mustTypedQuery(t, db, func(r *livedb.Reader) error {
		var ok bool
		var err error
		e, ok, err = timedEvents.Get(r, ref)
		require.NoError(t, err)
		require.True(t, ok)
		d, ok, err = r.Get(ref.ID())
		require.NoError(t, err)
		require.True(t, ok)
		return nil
	})
	return e, d
}

func TestTable_Insert_TimeRoundTrip(t *testing.T) {
	forEachBackend(t, timedSchema(), func(t *testing.T, db *livedb.DB) {
		host := netip.MustParseAddr("10.0.0.1")
		code := eventCode{kind: "retry", n: 3}

		t.Run("whole milliseconds exactly", func(t *testing.T) {
			at := time.UnixMilli(1_700_000_000_123).In(time.FixedZone("X", 3600))
			ref := mustInsertEvent(t, db, timedEvent{At: at, Host: host, Code: code})
			got, doc := mustGetEvent(t, db, ref)
			assert.Equal(t, 1_700_000_000_123.0, doc["at"], "stored as Date.now() gives it: a float64 of milliseconds")
			assert.Equal(t, "10.0.0.1", doc["host"], "stored as its MarshalText")
			assert.Equal(t, "retry-3", doc["code"], "stored as its MarshalText")
			assert.NotContains(t, doc, "due", "a nil *time.Time is absent")
			assert.NotContains(t, doc, "done", "omitzero leaves out the zero time")

			assert.Equal(t, at.UTC(), got.At, "the same instant, in UTC")
			assert.Equal(t, time.UTC, got.At.Location())
			assert.Nil(t, got.Due)
			assert.True(t, got.Done.IsZero())
			assert.Equal(t, host, got.Host)
			assert.Equal(t, code, got.Code)
			assert.Equal(t, ref, got.ID)
			assert.Equal(t, doc.CreationTime(), float64(got.Created.UnixNano())/1e6, "_creationTime reads into a time.Time")
			assert.Equal(t, time.UTC, got.Created.Location())
		})

		t.Run("nanoseconds to float64 precision", func(t *testing.T) {
			at := time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)
			due := at.Add(time.Hour)
			ref := mustInsertEvent(t, db, timedEvent{At: at, Due: &due, Done: due, Host: host, Code: code})
			got, doc := mustGetEvent(t, db, ref)
			ms, ok := doc["at"].(float64)
			require.True(t, ok, "at is a Float64, not %T", doc["at"])
			assert.Equal(t, at.UnixMilli(), int64(math.Floor(ms)))
			// A float64 near 1.7e12 ms has steps of 2^-12 ms (244 ns).
			assert.WithinDuration(t, at, got.At, 122*time.Nanosecond)
			assert.NotEqual(t, at.Truncate(time.Millisecond), got.At, "the sub-millisecond part is kept")
			require.NotNil(t, got.Due)
			assert.WithinDuration(t, due, *got.Due, 122*time.Nanosecond)
			assert.WithinDuration(t, due, got.Done, 122*time.Nanosecond)
		})

		t.Run("monotonic reading dropped", func(t *testing.T) {
			now := time.Now() // carries a monotonic clock reading
			ref := mustInsertEvent(t, db, timedEvent{At: now, Host: host, Code: code})
			got, _ := mustGetEvent(t, db, ref)
			assert.Equal(t, got.At.Round(0), got.At, "no monotonic reading")
			assert.WithinDuration(t, now, got.At, 122*time.Nanosecond)
		})

		t.Run("zero time is year 1", func(t *testing.T) {
			ref := mustInsertEvent(t, db, timedEvent{Host: host, Code: code}) // At is the zero time
			got, doc := mustGetEvent(t, db, ref)
			assert.Equal(t, float64(time.Time{}.UnixMilli()), doc["at"], "without omitzero the zero time is stored: 0001-01-01")
			assert.Equal(t, time.Time{}, got.At, "and reads back as the zero time")
			assert.True(t, got.At.IsZero())
		})

		t.Run("patch and index range take times", func(t *testing.T) {
			at := time.UnixMilli(1_000)
			ref := mustInsertEvent(t, db, timedEvent{At: at, Host: host, Code: code})
			later := time.UnixMilli(2_500)
			nextCode := eventCode{kind: "done", n: 1}
			require.NoError(t, db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
				return timedEvents.Patch(m.DB, ref, livedb.Doc{"at": later, "due": &later, "code": nextCode})
			}))
			got, doc := mustGetEvent(t, db, ref)
			assert.Equal(t, 2_500.0, doc["at"])
			assert.Equal(t, 2_500.0, doc["due"])
			assert.Equal(t, "done-1", doc["code"])
			assert.Equal(t, later.UTC(), got.At)

			found, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) ([]timedEvent, error) {
				return timedEvents.Query(q.DB).
					WithIndex("by_at", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Gt("at", at).Lte("at", later) // time.Time bounds
					}).
					Collect()
			})
			require.NoError(t, err)
			require.Len(t, found, 1)
			assert.Equal(t, ref, found[0].ID)
		})
	})
}

func TestTypedQuery_WithIndex_TimesSortChronologically(t *testing.T) {
	forEachBackend(t, timedSchema(), func(t *testing.T, db *livedb.DB) {
		base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		want := []time.Time{
			{}, // year 1
			time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC), // negative milliseconds
			time.Unix(0, 0),
			base,
			base.Add(250 * time.Microsecond), // the same millisecond, later
			base.Add(999 * time.Microsecond),
			base.Add(time.Millisecond),
			base.Add(24 * time.Hour),
			time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		}
		shuffled := append([]time.Time(nil), want...)
		seed := rand.Uint64()
		t.Logf("shuffle seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 0))
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		require.NoError(t, db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for _, at := range shuffled {
				if _, err := timedEvents.Insert(m.DB, timedEvent{At: at, Code: eventCode{kind: "k"}}); err != nil {
					return err
				}
			}
			return nil
		}))

		for _, order := range []livedb.Order{livedb.Asc, livedb.Desc} {
			got, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) ([]timedEvent, error) {
				return timedEvents.Query(q.DB).WithIndex("by_at", nil).Order(order).Collect()
			})
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for i, e := range got {
				w := want[i]
				if order == livedb.Desc {
					w = want[len(want)-1-i]
				}
				assert.WithinDuration(t, w, e.At, 122*time.Nanosecond, "%s: position %d", order, i)
			}
		}
	})
}

func TestTable_Get_BadStoredTimeOrText(t *testing.T) {
	tests := []struct {
		name    string
		doc     livedb.Doc
		want    string // the error after `field `
		wantIs  error
		wantErr bool
	}{
		{"string for a time", livedb.Doc{"at": "2024-01-01"},
			`.at (looseEvent.At): value "2024-01-01" (String) cannot be stored in time.Time: a time is stored as a Float64 of milliseconds since the Unix epoch`, nil, true},
		{"null for a time", livedb.Doc{"at": nil}, `.at (looseEvent.At): value null (Null) cannot be stored in time.Time`, nil, true},
		{"beyond a Date", livedb.Doc{"at": 1e300}, `.at (looseEvent.At): value 1e300 (Float64) is outside the range of a JavaScript Date, so it is not a time`, nil, true},
		{"NaN", livedb.Doc{"at": math.NaN()}, `.at (looseEvent.At): value NaN (Float64) is outside the range of a JavaScript Date`, nil, true},
		{"Int64 beyond a Date", livedb.Doc{"at": int64(math.MaxInt64)}, `.at (looseEvent.At): value 9223372036854775807 (Int64) is outside the range`, nil, true},
		{"number for a text", livedb.Doc{"code": 5.0},
			`.code (looseEvent.Code): value 5.0 (Float64) cannot be stored in livedb_test.eventCode: it has UnmarshalText, so it is stored as a String`, nil, true},
		{"text refused by UnmarshalText", livedb.Doc{"code": "nonsense"},
			`.code (looseEvent.Code): UnmarshalText of livedb_test.eventCode refused value "nonsense" (String): event code: want kind-n, got "nonsense"`, errBadCode, true},
		{"Int64 milliseconds", livedb.Doc{"at": int64(1_500)}, "", nil, false},
	}
	forEachBackend(t, timedSchema(), func(t *testing.T, db *livedb.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ref, err := livedb.MutationValue(context.Background(), db, func(m *livedb.MutationCtx) (livedb.ID, error) {
					return m.DB.Insert("loose", tc.doc)
				})
				require.NoError(t, err)
				got, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (looseEvent, error) {
					e, _, err := looseEvents.Get(q.DB, livedb.Ref[looseEvent](ref))
					return e, err
				})
				if !tc.wantErr {
					require.NoError(t, err)
					assert.Equal(t, time.UnixMilli(1_500).UTC(), got.At)
					return
				}
				require.ErrorContains(t, err, `livedb: decode loose document "`+string(ref)+`" field `+tc.want)
				assert.True(t, strings.HasPrefix(err.Error(), "livedb: decode loose document"), err.Error())
				var ce *livedb.CodecError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, "loose", ce.Table)
				assert.Equal(t, ref, ce.ID)
				if tc.wantIs != nil {
					assert.ErrorIs(t, err, tc.wantIs, "the method's error is wrapped")
				}
			})
		}
	})
}

// halfMarshaler has MarshalText but no UnmarshalText.
type halfMarshaler struct{ s string }

func (h halfMarshaler) MarshalText() ([]byte, error) { return []byte(h.s), nil }

// halfUnmarshaler has UnmarshalText but no MarshalText.
type halfUnmarshaler int

func (h *halfUnmarshaler) UnmarshalText(b []byte) error { return nil }

func TestNewTable_HalfTextType_Error(t *testing.T) {
	type withMarshaler struct {
		Tags []halfMarshaler `json:"tags"`
	}
	type withUnmarshaler struct {
		Meta struct {
			Level halfUnmarshaler `json:"level"`
		} `json:"meta"`
	}
	tb1 := livedb.NewTable[withMarshaler]("events")
	require.EqualError(t, tb1.Err(), "livedb: type events field .tags (withMarshaler.Tags): livedb_test.halfMarshaler has MarshalText but not UnmarshalText (encoding.TextUnmarshaler): a value is stored as its text only when its type has both, so that it reads back")
	tb2 := livedb.NewTable[withUnmarshaler]("events")
	require.ErrorContains(t, tb2.Err(), "livedb: type events field .meta.level (withUnmarshaler.Meta.Level): livedb_test.halfUnmarshaler has UnmarshalText but not MarshalText (encoding.TextMarshaler)")

	// ToDoc and FromDoc, which check values rather than types, refuse
	// them too, naming the field.
	_, err := livedb.ToDoc(withMarshaler{Tags: []halfMarshaler{{"a"}}})
	require.ErrorContains(t, err, "field .tags[0] (withMarshaler.Tags[0]): livedb_test.halfMarshaler has MarshalText but not UnmarshalText")
	_, err = livedb.FromDoc[withUnmarshaler](livedb.Doc{"meta": map[string]any{"level": "x"}})
	require.ErrorContains(t, err, "field .meta.level (withUnmarshaler.Meta.Level): livedb_test.halfUnmarshaler has UnmarshalText but not MarshalText")

	// A Table of a type stored as text or a time is refused: a document is
	// an object.
	require.ErrorContains(t, livedb.NewTable[netip.Addr]("events").Err(),
		"a Table's type must be a struct or a pointer to a struct, not netip.Addr (netip.Addr has MarshalText and UnmarshalText, so it is stored as a string)")
	require.ErrorContains(t, livedb.NewTable[*time.Time]("events").Err(), "not *time.Time (a time is stored as a number)")
	_, err = livedb.ToDoc(time.Now())
	require.ErrorContains(t, err, "a document is made of a struct or a map with string keys, not time.Time (a time is stored as a number)")
}

func TestToDoc_MarshalTextError_NamesField(t *testing.T) {
	_, err := livedb.ToDoc(timedEvent{Code: eventCode{}}) // MarshalText refuses an empty kind
	require.EqualError(t, err, "livedb: encode document field .code (timedEvent.Code): MarshalText of livedb_test.eventCode failed: event code: want kind-n")
	require.ErrorIs(t, err, errBadCode)
	var ce *livedb.CodecError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ".code", ce.Path)
}

func TestFromDoc_TimeFromHandBuiltDoc(t *testing.T) {
	at := time.Date(2024, 2, 29, 8, 0, 0, 0, time.UTC)
	code := eventCode{kind: "k", n: 2}
	got, err := livedb.FromDoc[timedEvent](livedb.Doc{"at": at, "due": &at, "code": code})
	require.NoError(t, err, "Go values in a hand-built Doc are converted first")
	assert.Equal(t, at, got.At)
	require.NotNil(t, got.Due)
	assert.Equal(t, at, *got.Due)
	assert.Equal(t, code, got.Code)

	d, err := livedb.ToDoc(got)
	require.NoError(t, err)
	back, err := livedb.FromDoc[timedEvent](d)
	require.NoError(t, err)
	assert.Equal(t, got, back)
}

func TestToDoc_TimeTagsAndEmbedding(t *testing.T) {
	type tagged struct {
		Empty time.Time  `json:"empty,omitempty"` // as in encoding/json: a struct is never empty
		Zero  time.Time  `json:"zero,omitzero"`
		Ptr   *time.Time `json:"ptr,omitempty"`
	}
	d, err := livedb.ToDoc(tagged{})
	require.NoError(t, err)
	assert.Equal(t, livedb.Doc{"empty": float64(time.Time{}.UnixMilli())}, d)

	// Embedding a time.Time promotes its MarshalText and UnmarshalText: the
	// struct is stored as the time's text, as encoding/json does.
	type stamped struct {
		time.Time
		Note string
	}
	type outer struct {
		S stamped `json:"s"`
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	d, err = livedb.ToDoc(outer{S: stamped{Time: at, Note: "lost"}})
	require.NoError(t, err)
	assert.Equal(t, livedb.Doc{"s": "2024-05-06T07:08:09Z"}, d)
}

// FuzzToDoc_Time checks the time mapping as a round trip and as an order:
// a time reads back within half a float64 step of itself, and a later time
// is never stored as a smaller number.
func FuzzToDoc_Time(f *testing.F) {
	f.Add(int64(1_700_000_000), int64(123_456_789), int64(1))
	f.Add(int64(-62135596800), int64(0), int64(999))
	f.Add(int64(-1), int64(999_999_999), int64(1))
	f.Add(int64(253402300799), int64(999_999_999), int64(1_000_000))
	type doc struct {
		At time.Time `json:"at"`
	}
	f.Fuzz(func(t *testing.T, sec, nsec, later int64) {
		sec %= 8_640_000_000_000 // the range of a JavaScript Date, in seconds
		a := time.Unix(sec, nsec%1e9)
		b := a.Add(time.Duration(later & math.MaxInt64))
		da, err := livedb.ToDoc(doc{At: a})
		if err != nil {
			if math.Abs(float64(a.Unix())*1000) > 8.64e15 {
				return // beyond a Date: refused, as documented
			}
			t.Fatalf("ToDoc(%s): %v", a, err)
		}
		back, err := livedb.FromDoc[doc](da)
		require.NoError(t, err)
		ms := da["at"].(float64)
		// Half a step of the float64 holding ms, plus the nanosecond rounding.
		tol := time.Duration(math.Ceil((math.Nextafter(math.Abs(ms), math.Inf(1))-math.Abs(ms))/2*1e6)) + 1
		assert.WithinDuration(t, a, back.At, tol, "ms %v", ms)
		assert.Equal(t, time.UTC, back.At.Location())
		if db, err := livedb.ToDoc(doc{At: b}); err == nil {
			assert.LessOrEqual(t, ms, db["at"].(float64), "%s stored after %s", a, b)
		}
	})
}

// TestMutationCtx_Insert_TimeValue: the map API has no date type (Convex
// has none); a time.Time is refused with a hint saying what to store
// instead, and nothing is written.
func TestMutationCtx_Insert_TimeValue(t *testing.T) {
	db := livedbtest.New(t, livedb.DefineSchema(livedb.Tables{"events": livedb.DefineTable(v.Any())}))
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("events", livedb.Doc{"at": time.Now()})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UnixMilli")
	assert.Contains(t, err.Error(), ".at")
	assert.Empty(t, mustCollect(t, db, "events"))
}
