package codec

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/livedb-go/livedb/internal/value"
)

// This file stores a stored document (the bytes the store holds, with the
// _id its key gives) into a struct without building the document's map
// first: the typed reads of the root package. It must give exactly what
// DecodeDoc gives for the map that value.DecodeStoredDocument makes of the
// same bytes; when it cannot (a value
// that does not fit its field, a malformed encoding, a type it does not
// take), it says so and the caller takes the map path, which also makes
// the error.

// storedPlan is a struct type's fields sorted by document name, for
// matching them against the fields of an encoding, which are stored in
// increasing name order.
type storedPlan struct {
	fields []*field // sorted by name
	ok     bool     // the type can be decoded by DecodeStored

	// id and creationTime are the fields that take the system fields,
	// which a stored document does not hold among its fields; nil when T
	// has none.
	id, creationTime *field
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
		for _, f := range p.fields {
			switch f.name {
			case fieldID:
				p.id = f
			case fieldCreationTime:
				p.creationTime = f
			}
		}
	}
	x, _ := storedPlans.LoadOrStore(t, p)
	return x.(*storedPlan)
}

// DecodeStored stores the stored document enc (value.EncodeStoredDocument's
// form) whose _id is id into rv, a settable struct or pointer to a struct,
// as DecodeDoc stores the map value.DecodeStoredDocument makes of enc and
// id. Strings stored into rv are sliced from one copy of id and enc, so rv
// shares nothing mutable with enc.
//
// It returns true when it stored the whole document, false when the
// document is malformed or has a value that does not fit its field: rv
// may then hold part of the document, and the caller must reset it and
// take the map path, which reports the error.
func DecodeStored[S ~string | ~[]byte](enc []byte, id S, rv reflect.Value) bool {
	depth := 0
	if rv.Kind() == reflect.Pointer {
		if rv.Type().Elem().Kind() != reflect.Struct {
			return false
		}
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		rv, depth = rv.Elem(), 1
	}
	if rv.Kind() != reflect.Struct {
		return false
	}
	p := planOf(rv.Type())
	if !p.ok {
		return false
	}
	r, err := value.NewFieldReader(enc, id)
	if err != nil {
		return false
	}
	if !storeSystem(&r, p, rv, depth) {
		return false
	}
	j := 0
	for {
		name, more, err := r.Next()
		if err != nil {
			return false
		}
		if !more {
			break
		}
		for j < len(p.fields) && p.fields[j].name < name {
			j++
		}
		if j == len(p.fields) || p.fields[j].name != name {
			if r.Skip() != nil {
				return false
			}
			continue
		}
		f := p.fields[j]
		j++
		if !storeField(&r, f, rv, depth) {
			return false
		}
	}
	return r.End() == nil
}

// storeSystem stores the system fields of the document r reads into the
// fields of rv that take them (p.id, p.creationTime), as decodeStruct
// stores the map's ID and Float64.
func storeSystem(r *value.FieldReader, p *storedPlan, rv reflect.Value, depth int) bool {
	if f := p.id; f != nil {
		fv, err := fieldAlloc(rv, f.index)
		if err != nil {
			return false
		}
		if f.special == specialNone && fv.Kind() == reflect.String {
			fv.SetString(r.ID())
		} else if decodeAs(value.ID(r.ID()), fv, depth+1, f.special) != nil {
			return false
		}
	}
	if f := p.creationTime; f != nil {
		fv, err := fieldAlloc(rv, f.index)
		if err != nil {
			return false
		}
		ct := r.CreationTime()
		if f.special == specialNone && fv.Kind() == reflect.Float64 {
			fv.SetFloat(ct)
		} else if decodeAs(ct, fv, depth+1, f.special) != nil {
			return false
		}
	}
	return true
}

// storeField reads the current field of r into the struct field f of rv.
func storeField(r *value.FieldReader, f *field, rv reflect.Value, depth int) bool {
	tag := r.Tag()
	if tag == value.TagUndefined {
		return r.Skip() == nil // an absent field, as DecodeDoc skips it
	}
	fv, err := fieldAlloc(rv, f.index)
	if err != nil {
		return false
	}
	if tag == value.TagNull && f.nullIsZero() { // as decodeStruct does
		fv.SetZero()
		return r.Skip() == nil
	}
	if f.special == specialNone {
		switch k := fv.Kind(); {
		case k == reflect.String && tag == value.TagString:
			s, err := r.String()
			if err != nil {
				return false
			}
			fv.SetString(s)
			return true
		case k == reflect.Bool && (tag == value.TagTrue || tag == value.TagFalse):
			fv.SetBool(tag == value.TagTrue)
			return r.Skip() == nil
		case k >= reflect.Int && k <= reflect.Int64 && tag == value.TagInt64:
			n, err := r.Int64()
			if err != nil || fv.OverflowInt(n) {
				return false
			}
			fv.SetInt(n)
			return true
		case k >= reflect.Uint && k <= reflect.Uintptr && tag == value.TagInt64:
			n, err := r.Int64()
			if err != nil || n < 0 || fv.OverflowUint(uint64(n)) {
				return false
			}
			fv.SetUint(uint64(n))
			return true
		case (k == reflect.Float64 || k == reflect.Float32) && tag == value.TagFloat64:
			x, err := r.Float64()
			if err != nil || fv.OverflowFloat(x) {
				return false
			}
			fv.SetFloat(x)
			return true
		}
	}
	x, err := r.Value()
	if err != nil {
		return false
	}
	if err := decodeAs(x, fv, depth+1, f.special); err != nil {
		return false
	}
	return true
}
