package codec

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/livedb-go/livedb/internal/value"
)

// This file stores an encoded document (the bytes the store holds) into a
// struct without building the document's map first: the typed reads of the
// root package. It must give exactly what DecodeDoc gives for the map that
// value.DecodeDocument makes of the same bytes; when it cannot (a value
// that does not fit its field, a malformed encoding, a type it does not
// take), it says so and the caller takes the map path, which also makes
// the error.

// storedPlan is a struct type's fields sorted by document name, for
// matching them against the fields of an encoding, which are stored in
// increasing name order.
type storedPlan struct {
	fields []*field // sorted by name
	ok     bool     // the type can be decoded by DecodeStored
}

// storedPlans maps a struct reflect.Type to its *storedPlan.
var storedPlans sync.Map

// planOf returns the storedPlan of struct type t, computing it once.
func planOf(t reflect.Type) *storedPlan {
	if p, ok := storedPlans.Load(t); ok {
		return p.(*storedPlan)
	}
	p := &storedPlan{}
	si := structOf(t)
	if si.err == nil && specialOf(t) == specialNone {
		p.ok = true
		for i := range si.fields {
			p.fields = append(p.fields, &si.fields[i])
		}
		slices.SortFunc(p.fields, func(a, b *field) int { return strings.Compare(a.name, b.name) })
	}
	x, _ := storedPlans.LoadOrStore(t, p)
	return x.(*storedPlan)
}

// DecodeStored stores the encoded document enc into rv, a settable struct
// or pointer to a struct, as DecodeDoc stores the map value.DecodeDocument
// makes of enc. str is "" or a string holding exactly the bytes of enc:
// strings stored into rv are sliced from it (or from one copy of enc), so
// rv shares nothing mutable with enc.
//
// It returns the document's _id, and ok true when it stored the whole
// document. ok is false when the document is malformed, lacks a string
// _id or a Float64 _creationTime, or has a value that does not fit its
// field: rv may then hold part of the document, and the caller must
// reset it and take the map path, which reports the error.
func DecodeStored(enc []byte, str string, rv reflect.Value) (id string, ok bool) {
	depth := 0
	if rv.Kind() == reflect.Pointer {
		if rv.Type().Elem().Kind() != reflect.Struct {
			return "", false
		}
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		rv, depth = rv.Elem(), 1
	}
	if rv.Kind() != reflect.Struct {
		return "", false
	}
	p := planOf(rv.Type())
	if !p.ok {
		return "", false
	}
	r, err := value.NewFieldReader(enc, str)
	if err != nil {
		return "", false
	}
	j := 0
	hasTime := false
	for {
		name, more, err := r.Next()
		if err != nil {
			return "", false
		}
		if !more {
			break
		}
		switch name {
		case fieldID:
			if r.Tag() != value.TagString {
				return "", false
			}
		case fieldCreationTime:
			if r.Tag() != value.TagFloat64 {
				return "", false
			}
			hasTime = true
		}
		for j < len(p.fields) && p.fields[j].name < name {
			j++
		}
		if j == len(p.fields) || p.fields[j].name != name {
			if name == fieldID {
				if id, err = r.String(); err != nil {
					return "", false
				}
			} else if r.Skip() != nil {
				return "", false
			}
			continue
		}
		f := p.fields[j]
		j++
		s, ok := storeField(&r, f, rv, depth)
		if !ok {
			return "", false
		}
		if name == fieldID {
			id = s
		}
	}
	if r.End() != nil || id == "" || !hasTime {
		return "", false
	}
	return id, true
}

// storeField reads the current field of r into the struct field f of rv.
// For a String value it returns the string read.
func storeField(r *value.FieldReader, f *field, rv reflect.Value, depth int) (string, bool) {
	tag := r.Tag()
	if tag == value.TagUndefined {
		return "", r.Skip() == nil // an absent field, as DecodeDoc skips it
	}
	fv, err := fieldAlloc(rv, f.index)
	if err != nil {
		return "", false
	}
	if tag == value.TagNull && f.nullIsZero() { // as decodeStruct does
		fv.SetZero()
		return "", r.Skip() == nil
	}
	if f.special == specialNone {
		switch k := fv.Kind(); {
		case k == reflect.String && tag == value.TagString:
			s, err := r.String()
			if err != nil {
				return "", false
			}
			fv.SetString(s)
			return s, true
		case k == reflect.Bool && (tag == value.TagTrue || tag == value.TagFalse):
			fv.SetBool(tag == value.TagTrue)
			return "", r.Skip() == nil
		case k >= reflect.Int && k <= reflect.Int64 && tag == value.TagInt64:
			n, err := r.Int64()
			if err != nil || fv.OverflowInt(n) {
				return "", false
			}
			fv.SetInt(n)
			return "", true
		case k >= reflect.Uint && k <= reflect.Uintptr && tag == value.TagInt64:
			n, err := r.Int64()
			if err != nil || n < 0 || fv.OverflowUint(uint64(n)) {
				return "", false
			}
			fv.SetUint(uint64(n))
			return "", true
		case (k == reflect.Float64 || k == reflect.Float32) && tag == value.TagFloat64:
			x, err := r.Float64()
			if err != nil || fv.OverflowFloat(x) {
				return "", false
			}
			fv.SetFloat(x)
			return "", true
		}
	}
	x, err := r.Value()
	if err != nil {
		return "", false
	}
	if err := decodeAs(x, fv, depth+1, f.special); err != nil {
		return "", false
	}
	if s, isID := x.(value.ID); isID {
		return string(s), true
	}
	return "", true
}
