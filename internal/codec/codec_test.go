package codec_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/value"
)

// docID stands for the root package's ID and Ref[T]: a named string type
// the codec knows nothing of.
type docID string

// note is a document with system fields, an ID-typed field, a time and a
// nested object.
type note struct {
	ID      docID     `json:"_id"`
	Created float64   `json:"_creationTime"`
	Owner   docID     `json:"owner"`
	Count   int       `json:"count"`
	At      time.Time `json:"at"`
	Tags    []string  `json:"tags"`
	Meta    struct {
		Seen bool `json:"seen"`
	} `json:"meta"`
}

func TestEncodeDoc_PlainValues(t *testing.T) {
	in := note{ID: "n1", Created: 1, Owner: "u1", Count: 3, At: time.UnixMilli(1500).UTC(), Tags: []string{"a"}}
	in.Meta.Seen = true
	m, err := codec.EncodeDoc(&in)
	require.NoError(t, err)
	// No system fields; an ID-typed field is a plain string; Go integers
	// keep their Go type for the validator to make them Int64 or Float64.
	assert.Equal(t, map[string]any{
		"owner": "u1", "count": 3, "at": 1500.0, "tags": []any{"a"}, "meta": map[string]any{"seen": true},
	}, m)
}

func TestDecodeDoc_IDsAsStringOrValueID(t *testing.T) {
	d := map[string]any{
		"_id": value.ID("n1"), "_creationTime": 2.5, "owner": "u1", "count": int64(3),
		"at": 1500.0, "tags": []any{"a"}, "meta": map[string]any{"seen": true},
	}
	var got note
	require.NoError(t, codec.DecodeDoc(d, reflect.ValueOf(&got).Elem(), "notes"))
	want := note{ID: "n1", Created: 2.5, Owner: "u1", Count: 3, At: time.UnixMilli(1500).UTC(), Tags: []string{"a"}}
	want.Meta.Seen = true
	assert.Equal(t, want, got)

	d["owner"] = value.ID("u2") // as a document read from storage holds it
	require.NoError(t, codec.DecodeDoc(d, reflect.ValueOf(&got).Elem(), "notes"))
	assert.Equal(t, docID("u2"), got.Owner)
}

func TestDecodeDoc_Error_NamesTableDocumentAndPaths(t *testing.T) {
	d := map[string]any{"_id": "n1", "meta": map[string]any{"seen": "yes"}}
	var got note
	err := codec.DecodeDoc(d, reflect.ValueOf(&got).Elem(), "notes")
	var ce *codec.Error
	require.True(t, errors.As(err, &ce), "DecodeDoc = %v, want a *codec.Error", err)
	assert.Equal(t, codec.Error{Op: "decode", Table: "notes", ID: "n1", Path: ".meta.seen", Field: "note.Meta.Seen",
		Reason: `value "yes" (String) cannot be stored in bool`}, *ce)
	assert.EqualError(t, err, `livedb: decode notes document "n1" field .meta.seen (note.Meta.Seen): value "yes" (String) cannot be stored in bool`)
}

func TestEncodeFields_LabelsErrorsWithTableAndID(t *testing.T) {
	type bad struct {
		N any `json:"n"`
	}
	_, err := codec.EncodeFields(reflect.ValueOf(&bad{N: func() {}}), "bads", "b1")
	var ce *codec.Error
	require.True(t, errors.As(err, &ce), "EncodeFields = %v, want a *codec.Error", err)
	assert.Equal(t, codec.Error{Op: "encode", Table: "bads", ID: "b1", Path: ".n", Field: "bad.N", Reason: "func() is not supported (kind func)"}, *ce)

	_, err = codec.EncodeFields(reflect.ValueOf((*bad)(nil)), "bads", "")
	require.True(t, errors.As(err, &ce), "EncodeFields(nil) = %v, want a *codec.Error", err)
	assert.Equal(t, codec.Error{Op: "encode", Table: "bads", Field: "bad", Reason: "nil value"}, *ce)
}

func TestCheckType_Error(t *testing.T) {
	type bad struct {
		M map[int]string `json:"m"`
	}
	require.NoError(t, codec.CheckType(reflect.TypeFor[note](), "notes"))
	err := codec.CheckType(reflect.TypeFor[bad](), "bads")
	assert.EqualError(t, err, "livedb: type bads field .m (bad.M): map[int]string has keys of type int; document objects need string keys")
}
