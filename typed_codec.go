package livedb

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/livedb-go/livedb/internal/value"
)

// This file maps Go values to documents and back, by reflection, for
// [ToDoc], [FromDoc] and [Table]; the rules are documented on ToDoc and
// FromDoc. Struct layouts are computed once per type and cached. Paths in
// errors are only built on failure (see codecWithin), so a successful
// conversion allocates nothing for them.

// maxCodecDepth bounds the recursion of encoding and decoding: Convex
// documents nest at most 16 levels, so a deeper Go value is a mistake,
// usually a pointer cycle.
const maxCodecDepth = 64

// CodecError reports a Go value that does not convert to a document, a
// document value that does not fit the Go field it is read into, or a Go
// type that cannot be mapped at all. Its message names both coordinates:
//
//	livedb: decode agentSessions document "j57…" field .meta.attempt (AgentSession.Meta.Attempt): value 1.5 (Float64) does not fit int
type CodecError struct {
	// Op is "encode" (Go to document), "decode" (document to Go) or "type"
	// (a Go type that no value of can be mapped).
	Op string
	// Table is the table, or "" when it is not known (ToDoc, FromDoc).
	Table string
	// ID is the document, or "" when it is not known.
	ID ID
	// Path is the document path of the value, such as ".meta.attempt" or
	// ".tags[2]"; "" for the document itself.
	Path string
	// Field is the Go path of the value, such as "AgentSession.Meta.Attempt".
	Field string
	// Reason says what is wrong.
	Reason string
	// Err is the error a MarshalText or UnmarshalText method returned, or
	// nil.
	Err error
}

// Error returns the message described on [CodecError].
func (e *CodecError) Error() string {
	var b strings.Builder
	b.WriteString("livedb: ")
	b.WriteString(e.Op)
	if e.Table != "" {
		b.WriteString(" ")
		b.WriteString(e.Table)
	}
	if e.Op != "type" {
		b.WriteString(" document")
		if e.ID != "" {
			fmt.Fprintf(&b, " %q", string(e.ID))
		}
	}
	if e.Path != "" {
		b.WriteString(" field ")
		b.WriteString(e.Path)
	}
	switch {
	case e.Field == "":
	case e.Op == "type" && e.Path == "":
		b.WriteString(" ")
		b.WriteString(e.Field)
	default:
		b.WriteString(" (")
		b.WriteString(e.Field)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *CodecError) Unwrap() error { return e.Err }

// codecErr starts a *CodecError at the value that failed; the callers on
// the way out prepend their path segments (see codecWithin).
func codecErr(op, format string, args ...any) *CodecError {
	return &CodecError{Op: op, Reason: fmt.Sprintf(format, args...)}
}

// codecWithin prepends a path step to err when it is a *CodecError: docSeg to
// the document path (".name", "[3]") and goSeg to the Go path (".Name",
// "[3]"). Paths are only built on failure, so success allocates nothing
// for them.
func codecWithin(err error, docSeg, goSeg string) error {
	var ce *CodecError
	if errors.As(err, &ce) {
		ce.Path = docSeg + ce.Path
		ce.Field = goSeg + ce.Field
	}
	return err
}

// codecLayoutErr returns a copy of a struct type's cached layout error, so
// that codecWithin and codecRooted can add to it.
func codecLayoutErr(si *codecStruct) error {
	var ce *CodecError
	if errors.As(si.err, &ce) {
		c := *ce
		return &c
	}
	return si.err
}

// codecRooted finishes a *CodecError at the top: the Go path starts with the
// root type's name, and the table and document are filled in.
func codecRooted(err error, root reflect.Type, table string, docID ID) error {
	var ce *CodecError
	if errors.As(err, &ce) {
		ce.Field = codecTypeLabel(root) + ce.Field
		ce.Table, ce.ID = table, docID
	}
	return err
}

// codecTypeLabel names a type for a Go path: its name without the package, or
// its literal form.
func codecTypeLabel(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	if n := t.Name(); n != "" {
		return n
	}
	return t.String()
}

// codecDescribe prints a document value for an error: its Convex form,
// shortened, and its kind.
func codecDescribe(x any) string {
	s := value.Format(x)
	if len(s) > 64 {
		s = s[:60] + " ..."
	}
	if k, ok := value.KindOf(x); ok {
		return fmt.Sprintf("value %s (%s)", s, k)
	}
	return fmt.Sprintf("value %s (Go %T)", s, x)
}

// ---- struct layout ----

// Which system field a struct field holds.
const (
	codecSysNone = iota
	codecSysID
	codecSysCreationTime
)

// codecField is one document field of a struct type.
type codecField struct {
	name      string // document field name
	goName    string // Go field name
	index     []int  // reflect index path, through flattened structs
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	tagged    bool // the name came from a tag
	depth     int  // embedding depth, for name clashes
	sys       int  // codecSysNone, codecSysID or codecSysCreationTime
	special   int  // codecStaticSpecial(typ)
}

// codecStruct is the cached layout of a struct type; err is set for a type
// whose own fields cannot be laid out (a name clash, a bad tag).
type codecStruct struct {
	fields []codecField
	err    error
}

// codecStructCache maps a struct reflect.Type to its *codecStruct.
var codecStructCache sync.Map

// codecStructOf returns the layout of struct type t, computing it once.
func codecStructOf(t reflect.Type) *codecStruct {
	if si, ok := codecStructCache.Load(t); ok {
		return si.(*codecStruct)
	}
	fields, err := codecTypeFields(t)
	si, _ := codecStructCache.LoadOrStore(t, &codecStruct{fields: fields, err: err})
	return si.(*codecStruct)
}

var (
	codecUndefinedType = reflect.TypeOf(value.Undefined)
	codecZeroerType    = reflect.TypeFor[interface{ IsZero() bool }]()
)

// codecTypeFields lays out struct type t: its own fields and those of flattened
// anonymous structs, breadth first as encoding/json does.
func codecTypeFields(t reflect.Type) ([]codecField, error) {
	type pending struct {
		typ   reflect.Type
		index []int
		depth int
	}
	var all []codecField
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
			f := codecField{name: name, goName: sf.Name, index: index, typ: sf.Type, tagged: hasTag && name != "", depth: p.depth,
				special: codecStaticSpecial(sf.Type)}
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
					return nil, codecWithin(codecErr("type", "the json option \"string\" is not supported"), "."+f.name, "."+f.goName)
				}
			}
			all = append(all, f)
		}
	}
	return codecDominantFields(all)
}

// codecDominantFields resolves name clashes: the shallowest field wins; at the
// same depth a tagged field beats untagged ones; any other tie is an error
// (encoding/json drops such fields silently, which loses data).
func codecDominantFields(all []codecField) ([]codecField, error) {
	byName := make(map[string][]int, len(all))
	for i, f := range all {
		byName[f.name] = append(byName[f.name], i)
	}
	out := make([]codecField, 0, len(all))
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
			return nil, codecErr("type", "two fields map to the document field %q", f.name)
		}
		w := all[best]
		switch w.name {
		case fieldID:
			if w.typ.Kind() != reflect.String {
				return nil, codecWithin(codecErr("type", "the system field _id must have a string type (ID, Ref[T] or string), not %s", w.typ), "."+w.name, "."+w.goName)
			}
			w.sys = codecSysID
		case fieldCreationTime:
			if k := w.typ.Kind(); k != reflect.Float64 && k != reflect.Float32 && w.typ != codecTimeType {
				return nil, codecWithin(codecErr("type", "the system field _creationTime must have a float type or be a time.Time, not %s", w.typ), "."+w.name, "."+w.goName)
			}
			w.sys = codecSysCreationTime
		}
		out = append(out, w)
	}
	return out, nil
}

// codecCheckType reports the first part of type t that no value can be mapped
// through: an unsupported kind, a map key that is not a string, a struct
// that cannot be laid out. Interfaces are checked at run time.
func codecCheckType(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch codecSpecialOf(t) {
	case codecSpecialTime, codecSpecialText:
		return nil
	case codecSpecialHalfText:
		return codecHalfTextErr("type", t)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Interface,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return nil
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return codecCheckType(t.Elem(), seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return codecErr("type", "%s has keys of type %s; document objects need string keys", t, t.Key())
		}
		return codecCheckType(t.Elem(), seen)
	case reflect.Struct:
		si := codecStructOf(t)
		if si.err != nil {
			return codecLayoutErr(si)
		}
		for _, f := range si.fields {
			if err := codecCheckType(f.typ, seen); err != nil {
				return codecWithin(err, "."+f.name, "."+f.goName)
			}
		}
		return nil
	}
	return codecErr("type", "%s is not supported (kind %s)", t, t.Kind())
}

// ---- Go to document ----

// ToDoc converts a struct, a pointer to a struct, or a map with string
// keys into a Doc, the form [Writer.Insert] and [Writer.Replace] take. It
// is the mapping [Table] writes with. An unsupported value is a
// *[CodecError] naming the document path and the Go field.
//
// Struct fields follow encoding/json's rules (MarshalText is called, see
// below; MarshalJSON is not):
//
//   - The document name comes from the `json` tag ("name",
//     "name,omitempty", "-" to skip the field); an untagged exported field
//     uses its Go name; unexported fields are ignored. An anonymous struct
//     field without a tag, or a pointer to one, is flattened: its fields
//     are fields of the outer struct, the shallower one winning a name
//     clash (two at the same depth are an error, not silently dropped).
//   - `omitempty` leaves out false, 0, "", nil pointers and interfaces, and
//     empty slices, arrays and maps; `omitzero` leaves out zero values (or
//     those whose IsZero method says so). The `string` option is refused.
//   - Fields tagged "_id" (of a string type: ID, Ref[T] or string) and
//     "_creationTime" (of a float type, or a time.Time) are the system
//     fields: ToDoc leaves them out, as the database assigns them. A map's
//     keys are all kept.
//
// Values: bool, string types and float64 as themselves (a Ref or an ID is
// a string); float32 as float64; Go integers as their basic Go type (an
// int stays an int, an int64 an int64) so that the table's validator makes
// them a Float64 where it expects v.Float64 and an Int64 elsewhere, as for
// any Doc; uint64 beyond the Int64 range is an error; []byte as Bytes;
// other slices and arrays as arrays (a nil slice as an empty array, [N]byte
// as an array of numbers); maps with string keys as objects (a nil map as
// an empty object); structs as objects; a nil pointer as an absent field,
// which is how a v.Optional field is left out (null inside an array); a
// non-nil pointer as its pointee; an interface as its dynamic value (nil as
// null, [Undefined] as absent). Complex numbers, channels, functions,
// unsafe pointers, maps with other keys and values nested more than 64
// levels (a pointer cycle) are errors.
//
// A time.Time is stored as Convex code stores a JavaScript Date: a Float64
// of milliseconds since the Unix epoch, what Date.now() returns and the
// unit of _creationTime, so that it sorts in time order in an index and a
// Convex client reads it with new Date(x). Declare such a field
// v.Float64() (or v.Number()) in the schema, and v.Optional for a
// *time.Time that may be nil. The location and the monotonic clock
// reading are not stored. Whole milliseconds are stored exactly; finer
// fractions are kept as far as the float64 holds them (in steps of
// 2^-12 ms, about 0.24 µs, for dates between 2004 and 2039). The zero
// time.Time is not special: it is stored as its instant,
// -62135596800000 (January 1 of year 1), and read back as the zero time;
// to leave it out, tag the field `omitzero` (as with encoding/json,
// `omitempty` does not omit a struct such as time.Time) or use a
// *time.Time. A time beyond the range of a JavaScript Date (±8.64e15 ms,
// about 273,000 years either side of 1970) is an error.
//
// A type that has both MarshalText and UnmarshalText
// ([encoding.TextMarshaler] and [encoding.TextUnmarshaler], on the value or
// the pointer), such as netip.Addr or a UUID type, is stored as its text,
// a String (declare it v.String()); an error of MarshalText is a
// *CodecError that wraps it. A type with only one of the two methods is an
// error, reported by [NewTable] for a Table's type, because what is stored
// could not be read back. A type with methods promoted from an embedded
// field counts, as in encoding/json: a struct that embeds a time.Time is
// stored as that time's text. Map keys are not converted by MarshalText:
// maps need string keys.
func ToDoc(x any) (Doc, error) {
	if x == nil {
		return nil, codecErr("encode", "cannot make a document of nil")
	}
	rv := reflect.ValueOf(x)
	root := rv.Type()
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, codecRooted(codecErr("encode", "cannot make a document of a nil %s", root), root, "", "")
		}
		rv = rv.Elem()
	}
	var m map[string]any
	var err error
	switch why := codecNotDocType(rv.Type()); {
	case why != "":
		err = codecErr("encode", "a document is made of a struct or a map with string keys, not %s%s", root, why)
	case rv.Kind() == reflect.Struct:
		m, err = codecEncodeStruct(rv, true, 0)
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		m, err = codecEncodeMap(rv, 0)
	default:
		err = codecErr("encode", "a document is made of a struct or a map with string keys, not %s", root)
	}
	if err != nil {
		return nil, codecRooted(err, root, "", "")
	}
	return Doc(m), nil
}

// codecEncodeStruct converts a struct to an object; top leaves out the system
// fields.
func codecEncodeStruct(rv reflect.Value, top bool, depth int) (map[string]any, error) {
	si := codecStructOf(rv.Type())
	if si.err != nil {
		return nil, codecLayoutErr(si)
	}
	m := make(map[string]any, len(si.fields))
	for i := range si.fields {
		f := &si.fields[i]
		if top && f.sys != codecSysNone {
			continue
		}
		fv, ok := codecFieldByIndex(rv, f.index)
		if !ok || f.omitEmpty && codecIsEmpty(fv) || f.omitZero && codecIsZero(fv) {
			continue
		}
		x, present, err := codecEncodeAs(fv, depth+1, f.special)
		if err != nil {
			return nil, codecWithin(err, "."+f.name, "."+f.goName)
		}
		if present {
			m[f.name] = x
		}
	}
	return m, nil
}

// codecEncodeMap converts a map with string keys to an object.
func codecEncodeMap(rv reflect.Value, depth int) (map[string]any, error) {
	m := make(map[string]any, rv.Len())
	sp := codecStaticSpecial(rv.Type().Elem())
	iter := rv.MapRange()
	for iter.Next() {
		k := iter.Key().String()
		x, present, err := codecEncodeAs(iter.Value(), depth+1, sp)
		if err != nil {
			return nil, codecWithin(err, "."+k, "["+strconv.Quote(k)+"]")
		}
		if present {
			m[k] = x
		}
	}
	return m, nil
}

// codecEncode converts one Go value. present is false for a value that
// stands for an absent field: a nil pointer, or Undefined.
func codecEncode(rv reflect.Value, depth int) (x any, present bool, err error) {
	return codecEncodeAs(rv, depth, codecSpecialUnknown)
}

// codecEncodeAs is codecEncode for a value whose codecStaticSpecial is
// known (or codecSpecialUnknown).
func codecEncodeAs(rv reflect.Value, depth, sp int) (x any, present bool, err error) {
	if depth > maxCodecDepth {
		return nil, false, codecErr("encode", "value nests deeper than %d levels (a pointer cycle?)", maxCodecDepth)
	}
	if k := rv.Kind(); k != reflect.Pointer && k != reflect.Interface && k != reflect.Invalid {
		if sp == codecSpecialUnknown {
			sp = codecSpecialOf(rv.Type())
		}
		if sp != codecSpecialNone {
			return codecEncodeSpecial(rv, sp)
		}
	}
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), true, nil
	case reflect.String:
		return rv.String(), true, nil
	case reflect.Int:
		return int(rv.Int()), true, nil
	case reflect.Int8:
		return int8(rv.Int()), true, nil
	case reflect.Int16:
		return int16(rv.Int()), true, nil
	case reflect.Int32:
		return int32(rv.Int()), true, nil
	case reflect.Int64:
		return rv.Int(), true, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return codecEncodeUint(rv)
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true, nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, false, nil
		}
		return codecEncodeAs(rv.Elem(), depth+1, sp)
	case reflect.Interface:
		if rv.IsNil() {
			return nil, true, nil
		}
		return codecEncode(rv.Elem(), depth+1)
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len()) // a nil slice too is empty Bytes
			copy(b, rv.Bytes())
			return b, true, nil
		}
		return codecEncodeList(rv, depth)
	case reflect.Array:
		return codecEncodeList(rv, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, false, codecErr("encode", "%s has keys of type %s; document objects need string keys", rv.Type(), rv.Type().Key())
		}
		m, err := codecEncodeMap(rv, depth)
		return m, err == nil, err
	case reflect.Struct:
		if rv.Type() == codecUndefinedType {
			return nil, false, nil
		}
		m, err := codecEncodeStruct(rv, false, depth)
		return m, err == nil, err
	case reflect.Invalid:
		return nil, true, nil
	}
	return nil, false, codecErr("encode", "%s is not supported (kind %s)", rv.Type(), rv.Kind())
}

// codecEncodeUint passes unsigned integers on as their basic Go type, refusing
// those beyond the Int64 range.
func codecEncodeUint(rv reflect.Value) (any, bool, error) {
	u := rv.Uint()
	switch rv.Kind() {
	case reflect.Uint8:
		return uint8(u), true, nil
	case reflect.Uint16:
		return uint16(u), true, nil
	case reflect.Uint32:
		return uint32(u), true, nil
	}
	if u > math.MaxInt64 {
		return nil, false, codecErr("encode", "unsigned integer %d does not fit into a 64-bit signed integer", u)
	}
	return int64(u), true, nil
}

// codecEncodeList converts a slice or array to an array; nil elements that
// would be absent fields become null, as arrays cannot have holes.
func codecEncodeList(rv reflect.Value, depth int) (any, bool, error) {
	out := make([]any, rv.Len())
	sp := codecStaticSpecial(rv.Type().Elem())
	for i := range out {
		ev := rv.Index(i)
		x, _, err := codecEncodeAs(ev, depth+1, sp)
		if err == nil && ev.Kind() == reflect.Interface && !ev.IsNil() && ev.Elem().Type() == codecUndefinedType {
			err = codecErr("encode", "undefined is not a valid Convex value inside an array")
		}
		if err != nil {
			s := "[" + strconv.Itoa(i) + "]"
			return nil, false, codecWithin(err, s, s)
		}
		out[i] = x
	}
	return out, true, nil
}

// codecFieldByIndex follows index through flattened structs; ok is false when
// an embedded pointer on the way is nil.
func codecFieldByIndex(rv reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return reflect.Value{}, false
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, true
}

// codecIsEmpty is encoding/json's omitempty test.
func codecIsEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// codecIsZero is the omitzero test: an IsZero method when the type has one,
// else the zero value.
func codecIsZero(v reflect.Value) bool {
	if v.Type().Implements(codecZeroerType) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// ---- document to Go ----

// FromDoc converts a document into a T, usually a struct or a pointer to
// one (a map with string keys works too). It is the mapping [Table] reads
// with. Fields are matched by the names [ToDoc] gives them; document fields
// without a Go field are ignored, Go fields without a document field keep
// their zero value, and fields tagged "_id" and "_creationTime" receive
// the system fields.
//
// A value goes into a Go field as follows: Int64 into every integer type
// when it fits; Float64 into float types, and into integer types when it
// is integral and fits, because Convex stores JavaScript counters as
// Float64; Int64 into float types when the float holds it exactly; String
// into string types (string, ID, Ref[T]); Bytes into []byte and [N]byte of
// that length; arrays into slices, and into Go arrays of the same length;
// objects into structs and string-keyed maps; null into pointers, slices,
// maps and interfaces as their zero value; anything into an empty
// interface, as it is. Float64 milliseconds since the Unix epoch (or
// Int64 ones) go into a time.Time, as a time in UTC rounded to the
// nanosecond (see [ToDoc] for the precision); a String goes into a type
// with UnmarshalText (and MarshalText), through UnmarshalText. Anything
// else, such as 1.5 into an int, 300 into an int8, null into a string or
// a String into a time.Time, is a *[CodecError] naming both the document
// path and the Go field:
//
//	livedb: decode document "j57…" field .meta.attempt (AgentSession.Meta.Attempt): value 1.5 (Float64) does not fit int
//
// An error of UnmarshalText is wrapped by the *CodecError
// ([errors.Is] finds it).
//
// Values stored into interface fields are not copied: they share the Doc's
// maps and slices.
func FromDoc[T any](d Doc) (T, error) {
	var out T
	err := codecDecodeDoc(d, reflect.ValueOf(&out).Elem(), "")
	return out, err
}

// codecDecodeDoc decodes d into rv, which must be settable, naming table in
// errors.
func codecDecodeDoc(d Doc, rv reflect.Value, table string) error {
	var x any
	if d != nil {
		x = map[string]any(d)
	}
	if err := codecDecode(x, rv, 0); err != nil {
		return codecRooted(err, rv.Type(), table, d.ID())
	}
	return nil
}

// codecDecode stores document value x into rv, which must be settable.
func codecDecode(x any, rv reflect.Value, depth int) error {
	return codecDecodeAs(x, rv, depth, codecSpecialUnknown)
}

// codecDecodeAs is codecDecode into a value whose codecStaticSpecial is
// known (or codecSpecialUnknown).
func codecDecodeAs(x any, rv reflect.Value, depth, sp int) error {
	if depth > maxCodecDepth {
		return codecErr("decode", "value nests deeper than %d levels", maxCodecDepth)
	}
	t := rv.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if x == nil {
			rv.SetZero()
			return nil
		}
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		return codecDecodeAs(x, rv.Elem(), depth+1, sp)
	case reflect.Interface:
		return codecDecodeInterface(x, rv)
	case reflect.Slice, reflect.Map:
		if x == nil {
			rv.SetZero()
			return nil
		}
	}
	ok, err := codecDecodeKind(x, rv, depth, sp)
	if err != nil || ok {
		return err
	}
	// A hand-built Doc may hold Go values that are not canonical (an int, a
	// []string, a Ref, a struct): take their canonical form and try once
	// more.
	if _, canonical := value.KindOf(x); !canonical && x != nil {
		if y, present, eerr := codecEncode(reflect.ValueOf(x), depth); eerr == nil && present {
			if z, nerr := value.Normalize(y); nerr == nil {
				if ok, err = codecDecodeKind(z, rv, depth, sp); err != nil || ok {
					return err
				}
			}
		}
	}
	return codecErr("decode", "%s cannot be stored in %s", codecDescribe(x), t)
}

// codecDecodeKind stores x into rv by rv's kind, or as codecDecodeSpecial
// for a time or text type (sp as for codecDecodeAs). ok is false when x's
// type does not go into that kind at all; err reports a value of the right
// type that still does not fit.
func codecDecodeKind(x any, rv reflect.Value, depth, sp int) (ok bool, err error) {
	if sp == codecSpecialUnknown {
		sp = codecSpecialOf(rv.Type())
	}
	if sp != codecSpecialNone {
		return codecDecodeSpecial(x, rv, sp)
	}
	switch rv.Kind() {
	case reflect.Bool:
		b, ok := x.(bool)
		if ok {
			rv.SetBool(b)
		}
		return ok, nil
	case reflect.String:
		switch s := x.(type) {
		case string:
			rv.SetString(s)
			return true, nil
		case ID:
			rv.SetString(string(s))
			return true, nil
		}
		return false, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return codecDecodeInt(x, rv)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return codecDecodeUint(x, rv)
	case reflect.Float32, reflect.Float64:
		return codecDecodeFloat(x, rv)
	case reflect.Slice:
		return codecDecodeSlice(x, rv, depth)
	case reflect.Array:
		return codecDecodeArray(x, rv, depth)
	case reflect.Map:
		return codecDecodeMap(x, rv, depth)
	case reflect.Struct:
		return codecDecodeStruct(x, rv, depth)
	}
	return false, codecErr("decode", "%s is not supported (kind %s)", rv.Type(), rv.Kind())
}

// codecDecodeInterface stores x into an interface field: as it is when its type
// implements the interface, null as nil.
func codecDecodeInterface(x any, rv reflect.Value) error {
	if x == nil {
		rv.SetZero()
		return nil
	}
	xv := reflect.ValueOf(x)
	if !xv.Type().AssignableTo(rv.Type()) {
		return codecErr("decode", "%s cannot be stored in %s", codecDescribe(x), rv.Type())
	}
	rv.Set(xv)
	return nil
}

// codecTwoTo63 is 2^63, the first float64 beyond the int64 range.
const codecTwoTo63 = float64(1 << 63)

func codecNotFit(x any, t reflect.Type) error {
	return codecErr("decode", "%s does not fit %s", codecDescribe(x), t)
}

// codecDecodeInt stores an Int64, or an integral Float64, into a signed integer.
func codecDecodeInt(x any, rv reflect.Value) (bool, error) {
	var n int64
	switch t := x.(type) {
	case int64:
		n = t
	case float64:
		if t != math.Trunc(t) || t < -codecTwoTo63 || t >= codecTwoTo63 {
			return true, codecNotFit(x, rv.Type())
		}
		n = int64(t)
	default:
		return false, nil
	}
	if rv.OverflowInt(n) {
		return true, codecNotFit(x, rv.Type())
	}
	rv.SetInt(n)
	return true, nil
}

// codecDecodeUint stores a non-negative Int64, or an integral Float64, into an
// unsigned integer.
func codecDecodeUint(x any, rv reflect.Value) (bool, error) {
	var u uint64
	switch t := x.(type) {
	case int64:
		if t < 0 {
			return true, codecNotFit(x, rv.Type())
		}
		u = uint64(t)
	case float64:
		if t != math.Trunc(t) || t < 0 || t >= 2*codecTwoTo63 {
			return true, codecNotFit(x, rv.Type())
		}
		u = uint64(t)
	default:
		return false, nil
	}
	if rv.OverflowUint(u) {
		return true, codecNotFit(x, rv.Type())
	}
	rv.SetUint(u)
	return true, nil
}

// codecDecodeFloat stores a Float64, or an Int64 the float holds exactly, into a
// float field. A float32 takes a Float64 codecWithin its range, rounded.
func codecDecodeFloat(x any, rv reflect.Value) (bool, error) {
	var f float64
	switch t := x.(type) {
	case float64:
		f = t
	case int64:
		f = float64(t)
		if f >= codecTwoTo63 || int64(f) != t || rv.Kind() == reflect.Float32 && float64(float32(f)) != f {
			return true, codecErr("decode", "%s is not exactly representable as %s", codecDescribe(x), rv.Type())
		}
	default:
		return false, nil
	}
	if rv.OverflowFloat(f) {
		return true, codecNotFit(x, rv.Type())
	}
	rv.SetFloat(f)
	return true, nil
}

// codecDecodeSlice stores Bytes into a byte slice and an array into a slice.
func codecDecodeSlice(x any, rv reflect.Value, depth int) (bool, error) {
	t := rv.Type()
	if b, ok := x.([]byte); ok {
		if t.Elem().Kind() != reflect.Uint8 {
			return false, nil
		}
		s := reflect.MakeSlice(t, len(b), len(b))
		reflect.Copy(s, reflect.ValueOf(b))
		rv.Set(s)
		return true, nil
	}
	a, ok := x.([]any)
	if !ok {
		return false, nil
	}
	s := reflect.MakeSlice(t, len(a), len(a))
	sp := codecStaticSpecial(t.Elem())
	for i, e := range a {
		if err := codecDecodeAs(e, s.Index(i), depth+1, sp); err != nil {
			seg := "[" + strconv.Itoa(i) + "]"
			return true, codecWithin(err, seg, seg)
		}
	}
	rv.Set(s)
	return true, nil
}

// codecDecodeArray stores Bytes or an array of the same length into a Go array.
func codecDecodeArray(x any, rv reflect.Value, depth int) (bool, error) {
	n := rv.Len()
	if b, ok := x.([]byte); ok && rv.Type().Elem().Kind() == reflect.Uint8 {
		if len(b) != n {
			return true, codecErr("decode", "%d bytes do not fit %s", len(b), rv.Type())
		}
		reflect.Copy(rv, reflect.ValueOf(b))
		return true, nil
	}
	a, ok := x.([]any)
	if !ok {
		return false, nil
	}
	if len(a) != n {
		return true, codecErr("decode", "an array of %d elements does not fit %s", len(a), rv.Type())
	}
	sp := codecStaticSpecial(rv.Type().Elem())
	for i, e := range a {
		if err := codecDecodeAs(e, rv.Index(i), depth+1, sp); err != nil {
			seg := "[" + strconv.Itoa(i) + "]"
			return true, codecWithin(err, seg, seg)
		}
	}
	return true, nil
}

// codecDecodeMap stores an object into a map with string keys.
func codecDecodeMap(x any, rv reflect.Value, depth int) (bool, error) {
	t := rv.Type()
	if t.Key().Kind() != reflect.String {
		return true, codecErr("decode", "%s has keys of type %s; document objects have string keys", t, t.Key())
	}
	m, ok := x.(map[string]any)
	if !ok {
		return false, nil
	}
	out := reflect.MakeMapWithSize(t, len(m))
	sp := codecStaticSpecial(t.Elem())
	for k, e := range m {
		if value.IsUndefined(e) {
			continue
		}
		ev := reflect.New(t.Elem()).Elem()
		if err := codecDecodeAs(e, ev, depth+1, sp); err != nil {
			return true, codecWithin(err, "."+k, "["+strconv.Quote(k)+"]")
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
	}
	rv.Set(out)
	return true, nil
}

// codecDecodeStruct stores an object into a struct, field by field.
func codecDecodeStruct(x any, rv reflect.Value, depth int) (bool, error) {
	t := rv.Type()
	m, ok := x.(map[string]any)
	if !ok {
		return false, nil
	}
	si := codecStructOf(t)
	if si.err != nil {
		return true, codecLayoutErr(si)
	}
	for i := range si.fields {
		f := &si.fields[i]
		e, ok := m[f.name]
		if !ok || value.IsUndefined(e) {
			continue
		}
		fv, err := codecFieldAlloc(rv, f.index)
		if err == nil {
			err = codecDecodeAs(e, fv, depth+1, f.special)
		}
		if err != nil {
			return true, codecWithin(err, "."+f.name, "."+f.goName)
		}
	}
	return true, nil
}

// codecFieldAlloc follows index through flattened structs, allocating
// nil embedded pointers on the way.
func codecFieldAlloc(rv reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				if !rv.CanSet() {
					return reflect.Value{}, codecErr("decode", "cannot allocate the embedded %s: it is unexported (export it, or do not embed a pointer)", rv.Type())
				}
				rv.Set(reflect.New(rv.Type().Elem()))
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, nil
}
