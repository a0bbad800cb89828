package codec_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/value"
)

// fastInner is embedded by value, so that its fields lie at an offset
// inside fastOuter.
type fastInner struct {
	Pad   [3]int64
	Count int     `json:"count"`
	Ratio float64 `json:"ratio"`
}

// FastPtrInner is embedded through a pointer.
type FastPtrInner struct {
	Deep string `json:"deep"`
}

// fastOuter has a field of every kind decodeStruct stores directly, some
// of them flattened from embedded structs.
type fastOuter struct {
	Flag bool  `json:"flag"`
	ID   docID `json:"_id"`
	Name string
	fastInner
	*FastPtrInner
	Big int64 `json:"big"`
}

func TestDecodeDoc_PlainFields_Stored(t *testing.T) {
	d := map[string]any{
		"flag": true, "_id": value.ID("j57abc"), "Name": "n",
		"count": float64(7), "ratio": 0.5, "deep": "d", "big": int64(math.MaxInt64),
	}
	var got fastOuter
	require.NoError(t, codec.DecodeDoc(d, reflect.ValueOf(&got).Elem(), "t"))
	want := fastOuter{Flag: true, ID: "j57abc", Name: "n", fastInner: fastInner{Count: 7, Ratio: 0.5},
		FastPtrInner: &FastPtrInner{Deep: "d"}, Big: math.MaxInt64}
	assert.Equal(t, want, got)
}

func TestDecodeDoc_PlainFields_Errors(t *testing.T) {
	cases := []struct {
		field string
		x     any
		want  string
	}{
		{"count", 1.5, "field .count (fastOuter.Count): value 1.5 (Float64) does not fit int"},
		{"big", float64(1 << 63), "does not fit int64"},
		{"big", math.NaN(), "does not fit int64"},
		{"Name", int64(1), "cannot be stored in string"},
		{"flag", "yes", "cannot be stored in bool"},
		{"ratio", int64(1)<<60 + 1, "is not exactly representable as float64"},
		{"ratio", nil, "cannot be stored in float64"},
	}
	for _, c := range cases {
		var got fastOuter
		err := codec.DecodeDoc(map[string]any{c.field: c.x}, reflect.ValueOf(&got).Elem(), "t")
		require.Error(t, err, "%s: %v", c.field, c.x)
		assert.Contains(t, err.Error(), c.want, "%s: %v", c.field, c.x)
	}
	// An Int64 that a float64 holds exactly goes in, by the general path.
	var got fastOuter
	require.NoError(t, codec.DecodeDoc(map[string]any{"ratio": int64(3)}, reflect.ValueOf(&got).Elem(), "t"))
	assert.Equal(t, 3.0, got.Ratio)
}
