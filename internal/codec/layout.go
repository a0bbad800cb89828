package codec

import (
	"reflect"
	"strings"
	"sync"

	"github.com/livedb-go/livedb/internal/value"
)

// This file lays out struct types as documents, once per type, and checks
// that a type can be mapped before any value of it is converted.

// Which system field a struct field holds.
const (
	sysNone = iota
	sysID
	sysCreationTime
)

// field is one document field of a struct type.
type field struct {
	name      string // document field name
	goName    string // Go field name
	index     []int  // reflect index path, through flattened structs
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	tagged    bool    // the name came from a tag
	depth     int     // embedding depth, for name clashes
	sys       int     // sysNone, sysID or sysCreationTime
	special   int     // staticSpecial(typ)
	fast      int     // fastNone or how decodeStruct stores it (decode_fast.go)
	offset    uintptr // the field's offset in the struct, when fast is set
}

// structInfo is the cached layout of a struct type; err is set for a type
// whose own fields cannot be laid out (a name clash, a bad tag).
type structInfo struct {
	fields []field
	err    error
}

// structCache maps a struct reflect.Type to its *structInfo.
var structCache sync.Map

// structOf returns the layout of struct type t, computing it once.
func structOf(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	fields, err := typeFields(t)
	for i := range fields {
		fields[i].setFast(t)
	}
	si, _ := structCache.LoadOrStore(t, &structInfo{fields: fields, err: err})
	return si.(*structInfo)
}

var (
	undefinedType = reflect.TypeOf(value.Undefined)
	zeroerType    = reflect.TypeFor[interface{ IsZero() bool }]()
)

// typeFields lays out struct type t: its own fields and those of flattened
// anonymous structs, breadth first as encoding/json does.
func typeFields(t reflect.Type) ([]field, error) {
	type pending struct {
		typ   reflect.Type
		index []int
		depth int
	}
	var all []field
	queue := []pending{{typ: t}}
	visited := map[reflect.Type]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if visited[p.typ] {
			continue
		}
		visited[p.typ] = true
		for i := range p.typ.NumField() {
			sf := p.typ.Field(i)
			tag, hasTag := sf.Tag.Lookup("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			index := append(append(make([]int, 0, len(p.index)+1), p.index...), i)
			if sf.Anonymous {
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if !sf.IsExported() && et.Kind() != reflect.Struct {
					continue
				}
				if name == "" && et.Kind() == reflect.Struct {
					queue = append(queue, pending{typ: et, index: index, depth: p.depth + 1})
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			f := field{name: name, goName: sf.Name, index: index, typ: sf.Type, tagged: hasTag && name != "", depth: p.depth,
				special: staticSpecial(sf.Type)}
			if f.name == "" {
				f.name = sf.Name
			}
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "omitempty":
					f.omitEmpty = true
				case "omitzero":
					f.omitZero = true
				case "string":
					return nil, Within(errorf("type", "the json option \"string\" is not supported"), "."+f.name, "."+f.goName)
				}
			}
			all = append(all, f)
		}
	}
	return dominantFields(all)
}

// dominantFields resolves name clashes: the shallowest field wins; at the
// same depth a tagged field beats untagged ones; any other tie is an error
// (encoding/json drops such fields silently, which loses data).
func dominantFields(all []field) ([]field, error) {
	byName := make(map[string][]int, len(all))
	for i, f := range all {
		byName[f.name] = append(byName[f.name], i)
	}
	out := make([]field, 0, len(all))
	for i, f := range all {
		idx := byName[f.name]
		if idx[0] != i {
			continue // decided with the first of the name
		}
		best, tie := -1, false
		for _, j := range idx {
			g := all[j]
			switch {
			case best < 0 || g.depth < all[best].depth:
				best, tie = j, false
			case g.depth == all[best].depth && g.tagged != all[best].tagged:
				if g.tagged {
					best, tie = j, false
				}
			case g.depth == all[best].depth:
				tie = true
			}
		}
		if tie {
			return nil, errorf("type", "two fields map to the document field %q", f.name)
		}
		w := all[best]
		switch w.name {
		case fieldID:
			if w.typ.Kind() != reflect.String {
				return nil, Within(errorf("type", "the system field _id must have a string type (ID, Ref[T] or string), not %s", w.typ), "."+w.name, "."+w.goName)
			}
			w.sys = sysID
		case fieldCreationTime:
			if k := w.typ.Kind(); k != reflect.Float64 && k != reflect.Float32 && w.typ != timeType {
				return nil, Within(errorf("type", "the system field _creationTime must have a float type or be a time.Time, not %s", w.typ), "."+w.name, "."+w.goName)
			}
			w.sys = sysCreationTime
		}
		out = append(out, w)
	}
	return out, nil
}

// checkType reports the first part of type t that no value can be mapped
// through: an unsupported kind, a map key that is not a string, a struct
// that cannot be laid out. Interfaces are checked at run time.
func checkType(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch specialOf(t) {
	case specialTime, specialText:
		return nil
	case specialHalfText:
		return halfTextErr("type", t)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Interface,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return nil
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return checkType(t.Elem(), seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return errorf("type", "%s has keys of type %s; document objects need string keys", t, t.Key())
		}
		return checkType(t.Elem(), seen)
	case reflect.Struct:
		si := structOf(t)
		if si.err != nil {
			return layoutErr(si)
		}
		for _, f := range si.fields {
			if err := checkType(f.typ, seen); err != nil {
				return Within(err, "."+f.name, "."+f.goName)
			}
		}
		return nil
	}
	return errorf("type", "%s is not supported (kind %s)", t, t.Kind())
}
