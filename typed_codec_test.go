package livedb_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

type codecPriority int

type codecBase struct {
	Owner string `json:"owner"`
	Note  string // untagged: its Go name
}

type CodecExtra struct {
	Extra string `json:"extra"`
}

type codecInner struct {
	Attempt int      `json:"attempt"`
	Tags    []string `json:"tags"`
	Weight  float32  `json:"weight,omitempty"`
}

// codecAll exercises every mapping rule.
type codecAll struct {
	codecBase                        // flattened
	*CodecExtra                      // flattened through a pointer
	ID          livedb.ID            `json:"_id"`
	Created     float64              `json:"_creationTime"`
	Name        string               `json:"name"`
	Skip        string               `json:"-"`
	hidden      string               // unexported: ignored
	Count       int                  `json:"count"`
	Big         int64                `json:"big"`
	Small       int8                 `json:"small"`
	U32         uint32               `json:"u32"`
	Prio        codecPriority        `json:"prio"`
	Score       float64              `json:"score"`
	Ok          bool                 `json:"ok"`
	Data        []byte               `json:"data"`
	Pair        [2]int               `json:"pair"`
	List        []int                `json:"list"`
	Labels      map[string]string    `json:"labels"`
	Inner       codecInner           `json:"inner"`
	InnerPtr    *codecInner          `json:"innerPtr"`
	Opt         *string              `json:"opt"`
	Empty       string               `json:"empty,omitempty"`
	Zero        codecInner           `json:"zero,omitzero"`
	Any         any                  `json:"any"`
	Ref         livedb.Ref[codecAll] `json:"ref"`
}

func TestToDoc_Mapping(t *testing.T) {
	in := codecAll{
		codecBase: codecBase{Owner: "ann", Note: "n"},
		ID:        "j57000820c20a1g7104gm2rc1m70ynr8", Created: 17, Name: "x", Skip: "s", hidden: "h",
		Count: 3, Big: 1 << 60, Small: -2, U32: 7, Prio: 9, Score: 0.5, Ok: true,
		Data: []byte{1, 2}, Pair: [2]int{4, 5}, Labels: map[string]string{"k": "v"},
		Inner: codecInner{Attempt: 1, Tags: []string{"a"}},
		Any:   map[string]any{"nested": codecInner{Attempt: 2}},
		Ref:   "j57000820c20a1g7104gm2rc1m70ynr8",
	}
	got, err := livedb.ToDoc(&in)
	require.NoError(t, err)
	want := livedb.Doc{
		"owner": "ann", "Note": "n",
		"name": "x", "count": 3, "big": int64(1 << 60), "small": int8(-2), "u32": uint32(7), "prio": 9,
		"score": 0.5, "ok": true, "data": []byte{1, 2}, "pair": []any{4, 4 + 1},
		"list":   []any{}, // a nil slice is an empty array
		"labels": map[string]any{"k": "v"},
		"inner":  map[string]any{"attempt": 1, "tags": []any{"a"}},
		"any":    map[string]any{"nested": map[string]any{"attempt": 2, "tags": []any{}}},
		"ref":    "j57000820c20a1g7104gm2rc1m70ynr8",
	}
	assert.Equal(t, want, got, "system fields, '-', unexported, nil pointers, omitempty and omitzero are left out")

	// The same values through a map, and a value that is already a Doc.
	m, err := livedb.ToDoc(map[string]any{"a": 1, "p": (*int)(nil), "u": livedb.Undefined, "r": livedb.Ref[codecAll]("x"), "n": nil})
	require.NoError(t, err)
	assert.Equal(t, livedb.Doc{"a": 1, "r": "x", "n": nil}, m)
	d, err := livedb.ToDoc(livedb.Doc{"x": []any{int64(1), "y"}})
	require.NoError(t, err)
	assert.Equal(t, livedb.Doc{"x": []any{int64(1), "y"}}, d)
}

func TestToDoc_Errors(t *testing.T) {
	type cyc struct {
		Next *cyc `json:"next"`
	}
	loop := &cyc{}
	loop.Next = loop
	type dupA struct{ X string }
	type dupB struct{ X int }
	type dup struct {
		dupA
		dupB
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, "livedb: encode document: cannot make a document of nil"},
		{"nil pointer", (*codecAll)(nil), "livedb: encode document (codecAll): cannot make a document of a nil *livedb_test.codecAll"},
		{"not a struct", 5, "livedb: encode document (int): a document is made of a struct or a map with string keys, not int"},
		{"chan", struct {
			C chan int `json:"c"`
		}{C: make(chan int)}, "field .c (struct { C chan int \"json:\\\"c\\\"\" }.C): chan int is not supported (kind chan)"},
		{"func in interface", map[string]any{"f": func() {}}, `livedb: encode document field .f (map[string]interface {}["f"]): func() is not supported (kind func)`},
		{"complex in slice", struct{ L []any }{L: []any{1, complex(1, 2)}}, "field .L[1] (struct { L []interface {} }.L[1]): complex128 is not supported (kind complex128)"},
		{"map with int keys", struct{ M map[int]int }{M: map[int]int{1: 1}}, "field .M (struct { M map[int]int }.M): map[int]int has keys of type int; document objects need string keys"},
		{"time beyond a JavaScript Date", struct{ T time.Time }{T: time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
			"field .T (struct { T time.Time }.T): time 300000-01-01T00:00:00Z is outside the range of a JavaScript Date"},
		{"uint64 overflow", struct {
			U uint64 `json:"u"`
		}{U: math.MaxUint64}, "field .u (struct { U uint64 \"json:\\\"u\\\"\" }.U): unsigned integer 18446744073709551615 does not fit into a 64-bit signed integer"},
		{"pointer cycle", loop, "nests deeper than 64 levels"},
		{"duplicate names", dup{}, `livedb: type dup: two fields map to the document field "X"`},
		{"string option", struct {
			N int `json:"n,string"`
		}{}, `the json option "string" is not supported`},
		{"_id not a string", struct {
			ID int `json:"_id"`
		}{}, "the system field _id must have a string type"},
		{"undefined in array", map[string]any{"a": []any{livedb.Undefined}}, "field .a[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := livedb.ToDoc(tc.in)
			require.ErrorContains(t, err, tc.want)
			assert.Nil(t, d)
			var ce *livedb.CodecError
			require.ErrorAs(t, err, &ce)
		})
	}
}

func TestFromDoc_Mapping(t *testing.T) {
	doc := livedb.Doc{
		"_id": livedb.ID("j57000820c20a1g7104gm2rc1m70ynr8"), "_creationTime": 1700000000000.25,
		"owner": "ann", "Note": "n", "extra": "e",
		"name": "x", "count": 3.0, "big": int64(1 << 60), "small": int64(-2), "u32": 7.0, "prio": int64(9),
		"score": int64(4), "ok": true, "data": []byte{1, 2}, "pair": []any{int64(4), 5.0},
		"list": nil, "labels": map[string]any{"k": "v"},
		"inner":    map[string]any{"attempt": int64(1), "tags": []any{"a"}, "weight": 0.5, "unknown": "ignored"},
		"innerPtr": map[string]any{"attempt": 2.0},
		"opt":      "o",
		"any":      []any{int64(1)},
		"ref":      "j57000820c20a1g7104gm2rc1m70ynr8",
		"unknown":  map[string]any{"ignored": true},
	}
	got, err := livedb.FromDoc[codecAll](doc)
	require.NoError(t, err)
	want := codecAll{
		codecBase:  codecBase{Owner: "ann", Note: "n"},
		CodecExtra: &CodecExtra{Extra: "e"}, // allocated for its field
		ID:         "j57000820c20a1g7104gm2rc1m70ynr8", Created: 1700000000000.25,
		Name: "x", Count: 3, Big: 1 << 60, Small: -2, U32: 7, Prio: 9, Score: 4, Ok: true,
		Data: []byte{1, 2}, Pair: [2]int{4, 5}, Labels: map[string]string{"k": "v"},
		Inner:    codecInner{Attempt: 1, Tags: []string{"a"}, Weight: 0.5},
		InnerPtr: &codecInner{Attempt: 2},
		Opt:      typedPtr("o"),
		Any:      []any{int64(1)},
		Ref:      "j57000820c20a1g7104gm2rc1m70ynr8",
	}
	assert.Equal(t, want, got)

	p, err := livedb.FromDoc[*codecInner](livedb.Doc{"attempt": int64(5)})
	require.NoError(t, err)
	assert.Equal(t, &codecInner{Attempt: 5}, p)
	m, err := livedb.FromDoc[map[string]int](livedb.Doc{"a": int64(1), "b": 2.0})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"a": 1, "b": 2}, m)
}

func TestFromDoc_NullIntoNilables(t *testing.T) {
	type nilables struct {
		P *int           `json:"p"`
		S []int          `json:"s"`
		M map[string]int `json:"m"`
		A any            `json:"a"`
		U *codecInner    `json:"u"`
	}
	got, err := livedb.FromDoc[nilables](livedb.Doc{"p": nil, "s": nil, "m": nil, "a": nil, "u": nil})
	require.NoError(t, err)
	assert.Equal(t, nilables{}, got)
}

// A hand-built Doc may hold Go values that are not canonical.
func TestFromDoc_HandBuiltDoc(t *testing.T) {
	got, err := livedb.FromDoc[codecAll](livedb.Doc{
		"count": 3, "small": uint8(4), "list": []int64{1, 2}, "ref": livedb.Ref[codecAll]("r"),
		"inner": codecInner{Attempt: 6, Tags: []string{"t"}}, "labels": map[string]string{"a": "b"},
	})
	require.NoError(t, err)
	assert.Equal(t, 3, got.Count)
	assert.Equal(t, int8(4), got.Small)
	assert.Equal(t, []int{1, 2}, got.List)
	assert.Equal(t, livedb.Ref[codecAll]("r"), got.Ref)
	assert.Equal(t, codecInner{Attempt: 6, Tags: []string{"t"}}, got.Inner)
	assert.Equal(t, map[string]string{"a": "b"}, got.Labels)
}

func TestFromDoc_Errors(t *testing.T) {
	const id = "j57000820c20a1g7104gm2rc1m70ynr8"
	tests := []struct {
		name string
		doc  livedb.Doc
		want string
	}{
		{"fraction into int", livedb.Doc{"_id": livedb.ID(id), "inner": map[string]any{"attempt": 1.5}},
			`livedb: decode document "` + id + `" field .inner.attempt (codecAll.Inner.Attempt): value 1.5 (Float64) does not fit int`},
		{"Int64 overflows int8", livedb.Doc{"small": int64(300)},
			`livedb: decode document field .small (codecAll.Small): value 300 (Int64) does not fit int8`},
		{"float beyond int64", livedb.Doc{"big": 1e19},
			`field .big (codecAll.Big): value 1e19 (Float64) does not fit int64`},
		{"NaN into int", livedb.Doc{"count": math.NaN()}, `value NaN (Float64) does not fit int`},
		{"negative into uint", livedb.Doc{"u32": int64(-1)}, `field .u32 (codecAll.U32): value -1 (Int64) does not fit uint32`},
		{"inexact Int64 into float", livedb.Doc{"score": int64(1<<53 + 1)},
			`value 9007199254740993 (Int64) is not exactly representable as float64`},
		{"string into int", livedb.Doc{"count": "3"}, `field .count (codecAll.Count): value "3" (String) cannot be stored in int`},
		{"null into int", livedb.Doc{"count": nil}, `value null (Null) cannot be stored in int`},
		{"number into string", livedb.Doc{"name": 1.0}, `value 1.0 (Float64) cannot be stored in string`},
		{"wrong element", livedb.Doc{"inner": map[string]any{"tags": []any{"a", int64(2)}}},
			`field .inner.tags[1] (codecAll.Inner.Tags[1]): value 2 (Int64) cannot be stored in string`},
		{"map value", livedb.Doc{"labels": map[string]any{"k": true}}, `field .labels.k (codecAll.Labels["k"]): value true (Boolean) cannot be stored in string`},
		{"array length", livedb.Doc{"pair": []any{int64(1)}}, `an array of 1 elements does not fit [2]int`},
		{"object into slice", livedb.Doc{"list": map[string]any{}}, `value {} (Object) cannot be stored in []int`},
		{"bytes into []int", livedb.Doc{"list": []byte{1}}, `cannot be stored in []int`},
		{"float32 overflow", livedb.Doc{"inner": map[string]any{"weight": 1e300}}, `value 1e300 (Float64) does not fit float32`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := livedb.FromDoc[codecAll](tc.doc)
			require.ErrorContains(t, err, tc.want)
			var ce *livedb.CodecError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "decode", ce.Op)
			assert.Zero(t, got.Count)
		})
	}

	type unexportedEmbed struct{ *codecInner }
	_, err := livedb.FromDoc[unexportedEmbed](livedb.Doc{"attempt": int64(1)})
	require.ErrorContains(t, err, "field .attempt (unexportedEmbed.Attempt): cannot allocate the embedded *livedb_test.codecInner")
	x, err := livedb.ToDoc(unexportedEmbed{&codecInner{Attempt: 2}})
	require.NoError(t, err, "encoding through it works, as in encoding/json")
	assert.Equal(t, 2, x["attempt"])

	_, err = livedb.FromDoc[struct{ C chan int }](livedb.Doc{"C": int64(1)})
	require.ErrorContains(t, err, "chan int is not supported")
	_, err = livedb.FromDoc[codecInner](nil)
	require.ErrorContains(t, err, "value null (Null) cannot be stored in livedb_test.codecInner")
	_, err = livedb.FromDoc[struct{ T time.Time }](livedb.Doc{"T": "2024"})
	require.ErrorContains(t, err, `field .T (struct { T time.Time }.T): value "2024" (String) cannot be stored in time.Time: a time is stored as a Float64 of milliseconds since the Unix epoch`)
}

func TestFromDoc_IntBounds(t *testing.T) {
	tests := []struct {
		name  string
		value any
		ok    bool
	}{
		{"max int64", int64(math.MaxInt64), true},
		{"min int64", int64(math.MinInt64), true},
		{"2^63 as float", math.Ldexp(1, 63), false},
		{"-2^63 as float", -math.Ldexp(1, 63), true},
		{"-0.0", math.Copysign(0, -1), true},
		{"+Inf", math.Inf(1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := livedb.FromDoc[codecAll](livedb.Doc{"big": tc.value})
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "does not fit int64")
			}
		})
	}
}

func TestToDoc_FromDocRoundTrip(t *testing.T) {
	in := codecAll{
		codecBase: codecBase{Owner: "o"}, CodecExtra: &CodecExtra{Extra: "e"},
		Name: "n", Count: -4, Big: math.MinInt64, Small: 127, U32: math.MaxUint32, Prio: 2,
		Score: -0.25, Data: []byte{}, Pair: [2]int{1, 2}, List: []int{3},
		Labels: map[string]string{}, Inner: codecInner{Attempt: 1, Tags: []string{}}, Opt: typedPtr(""),
		Any: "s", Ref: "r",
	}
	d, err := livedb.ToDoc(in)
	require.NoError(t, err)
	out, err := livedb.FromDoc[codecAll](d)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

// FuzzFromDoc decodes arbitrary JSON objects into a struct: it must never
// panic, and whatever it accepts must encode again.
func FuzzFromDoc(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"count": 1.5}`, `{"count": 1e300, "pair": [1, 2]}`, `{"inner": {"tags": ["a", 1]}}`,
		`{"labels": {"a": "b"}, "list": [1, 2, 3], "any": {"x": [null]}}`, `{"pair": [1]}`,
		`{"innerPtr": null, "opt": "x", "small": -129}`, `{"extra": "e", "owner": 5}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		x, err := livedb.FromDoc[codecAll](livedb.Doc(m))
		if err != nil {
			var ce *livedb.CodecError
			require.ErrorAs(t, err, &ce)
			return
		}
		_, err = livedb.ToDoc(x)
		require.NoError(t, err)
	})
}
