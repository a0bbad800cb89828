package codec_test

import (
	"math"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/value"
)

// flatInner is embedded by value in flatSession.
type flatInner struct {
	Count int     `json:"count"`
	Ratio float64 `json:"ratio"`
}

// flatSession has only fields that the fast path stores, one of them
// flattened from a struct embedded by value.
type flatSession struct {
	ID   docID   `json:"_id"`
	CT   float64 `json:"_creationTime"`
	Name string
	Flag bool   `json:"flag"`
	Big  int64  `json:"big"`
	Note string `json:"note,omitempty"`
	flatInner
}

func TestNewFlatDecoder_Types(t *testing.T) {
	assert.NotNil(t, codec.NewFlatDecoder(reflect.TypeFor[flatSession]()))
	for _, typ := range []reflect.Type{
		reflect.TypeFor[fastOuter](), // a field embedded through a pointer, an array
		reflect.TypeFor[struct {
			At time.Time `json:"at"`
		}](),
		reflect.TypeFor[struct {
			Tags []string `json:"tags"`
		}](),
		reflect.TypeFor[struct {
			N int32 `json:"n"`
		}](),
		reflect.TypeFor[*flatSession](),
		reflect.TypeFor[string](),
	} {
		assert.Nil(t, codec.NewFlatDecoder(typ), "%s", typ)
	}
}

// TestFlatDecoder_Decode_AsDecodeDoc checks that Decode stores what
// DecodeDoc stores whenever it reports success, succeeds on the documents
// of the fast path, and refuses the others (which DecodeDoc then stores
// or refuses by its general path).
func TestFlatDecoder_Decode_AsDecodeDoc(t *testing.T) {
	dec := codec.NewFlatDecoder(reflect.TypeFor[flatSession]())
	require.NotNil(t, dec)
	full := func(k string, x any) map[string]any {
		d := map[string]any{
			"_id": value.ID("j57abc"), "_creationTime": 1.5e12, "Name": "n", "flag": true,
			"big": int64(math.MaxInt64), "note": "x", "count": int64(7), "ratio": 0.25, "other": []any{"y"},
		}
		if k != "" {
			d[k] = x
		}
		return d
	}
	cases := []struct {
		name string
		doc  map[string]any
		fast bool // Decode stores it
	}{
		{"every field", full("", nil), true},
		{"an integral float64 into int", full("count", float64(3)), true},
		{"a string _id", full("_id", "j57def"), true},
		{"absent fields", map[string]any{"Name": "only"}, true},
		{"empty", map[string]any{}, true},
		{"nil", nil, false},
		{"undefined", full("Name", value.Undefined), false},
		{"null into omitempty", full("note", nil), false},
		{"null into string", full("Name", nil), false},
		{"a fraction into int", full("count", 1.5), false},
		{"an int64 into float64", full("ratio", int64(3)), false},
		{"an int64 into string", full("Name", int64(1)), false},
		{"a string into bool", full("flag", "yes"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want flatSession
			wantErr := codec.DecodeDoc(c.doc, reflect.ValueOf(&want).Elem(), "t")
			var got flatSession
			ok := dec.Decode(c.doc, unsafe.Pointer(&got))
			assert.Equal(t, c.fast, ok)
			if ok {
				require.NoError(t, wantErr)
				assert.Equal(t, want, got)
			}
		})
	}
}
