package codec_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb/internal/codec"
)

// omitted has fields whose tags make the zero value and absence one
// state, and one field without such a tag.
type omitted struct {
	Cursor string          `json:"cursor,omitempty"`
	N      int             `json:"n,omitempty"`
	Ok     bool            `json:"ok,omitempty"`
	Pair   [2]int          `json:"pair,omitzero"`
	Inner  struct{ A int } `json:"inner,omitzero"`
	Plain  string          `json:"plain"`
}

// Null goes into a field tagged omitempty or omitzero as its zero value,
// over whatever the field held, and encoding that value leaves the field
// out; null into an untagged string stays an error.
func TestDecodeDoc_NullIntoOmitEmpty(t *testing.T) {
	got := omitted{Cursor: "old", N: 3, Ok: true, Pair: [2]int{1, 2}}
	got.Inner.A = 4
	doc := map[string]any{"cursor": nil, "n": nil, "ok": nil, "pair": nil, "inner": nil}
	require.NoError(t, codec.DecodeDoc(doc, reflect.ValueOf(&got).Elem(), ""))
	assert.Equal(t, omitted{}, got, "null is the zero value of each tagged field")

	back, err := codec.EncodeDoc(got)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"plain": ""}, back, "the zero values are left out, not written as null")

	var plain omitted
	err = codec.DecodeDoc(map[string]any{"plain": nil}, reflect.ValueOf(&plain).Elem(), "")
	require.ErrorContains(t, err, "field .plain (omitted.Plain): value null (Null) cannot be stored in string")
}
