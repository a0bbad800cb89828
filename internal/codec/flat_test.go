package codec_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/codec"
)

// flatText is a flat type that its methods store as text.
type flatText struct{ s string }

func (f flatText) MarshalText() ([]byte, error) { return []byte(f.s), nil }

func (f *flatText) UnmarshalText(b []byte) error {
	f.s = string(b)
	return nil
}

func TestFlat_Types_Reported(t *testing.T) {
	type inner struct {
		N [2]uint8
		s string
	}
	type flat struct {
		A bool
		B int32
		C float32
		D docID
		E [3]inner
		inner
	}
	type withPtr struct {
		A int
		p *int
	}
	cases := []struct {
		typ  reflect.Type
		want bool
	}{
		{reflect.TypeFor[flat](), true},
		{reflect.TypeFor[fastOuter](), false}, // embeds a pointer
		{reflect.TypeFor[withPtr](), false},
		{reflect.TypeFor[struct{ S []string }](), false},
		{reflect.TypeFor[struct{ M map[string]int }](), false},
		{reflect.TypeFor[struct{ X any }](), false},
		{reflect.TypeFor[struct{ T time.Time }](), false},
		{reflect.TypeFor[struct{ A netip.Addr }](), false}, // MarshalText and UnmarshalText
		{reflect.TypeFor[*flat](), false},
		{reflect.TypeFor[flatText](), false},
		{reflect.TypeFor[struct{ F [1]flatText }](), false},
	}
	for _, c := range cases {
		if got := codec.Flat(c.typ); got != c.want {
			t.Errorf("Flat(%s) = %v, want %v", c.typ, got, c.want)
		}
	}
}
