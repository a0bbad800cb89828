package value_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

const testID = "j57000820c20a1g7104gm2rc1m70ynr8" // 32 characters, docs/semantics.md#ids

func newDoc(fields obj) obj {
	doc := obj{"_id": testID, "_creationTime": 1699931054642.111}
	for k, v := range fields {
		doc[k] = v
	}
	return doc
}

func nested(levels int, inner any) any {
	x := inner
	for range levels {
		x = []any{x}
	}
	return x
}

func TestSize_Convex(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want int
	}{
		{"null", nil, 1},
		{"bool", true, 1},
		{"int64", int64(1), 9},
		{"float64", 1.0, 9},
		{"Go int", 3, 9},
		{"string", "ab", 4},
		{"non-ASCII string counts bytes", "é", 4},
		{"ID", value.ID("ab"), 4},
		{"bytes", []byte{1, 2, 3}, 5},
		{"empty object", obj{}, 2},
		{"object", obj{"a": 1.0}, 13},
		{"array", []any{1.0}, 11},
		{"nested", obj{"ab": []any{nil, "x"}}, 2 + 2 + 1 + (2 + 1 + 3)},
		{"undefined field skipped", obj{"a": 1.0, "b": value.Undefined}, 13},
		{"undefined", value.Undefined, 0},
		{"unsupported", struct{}{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := value.Size(tc.in); got != tc.want {
				t.Fatalf("Size(%#v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestDocumentSize_WithSystemFields(t *testing.T) {
	// getDocumentSize({a: 1}) is 74 in Convex's JS (docs/semantics.md#size).
	if got := value.DocumentSize(newDoc(obj{"a": 1.0})); got != 74 {
		t.Fatalf("DocumentSize = %d, want 74", got)
	}
}

func TestNesting_Levels(t *testing.T) {
	tests := []struct {
		in   any
		want int
	}{
		{int64(1), 0}, {"s", 0}, {[]any{}, 1}, {obj{}, 1}, {[]any{[]any{int64(1)}}, 2},
		{obj{"a": []any{obj{}}, "b": nil}, 3}, {nested(10, nil), 10},
	}
	for _, tc := range tests {
		if got := value.Nesting(tc.in); got != tc.want {
			t.Fatalf("Nesting(%#v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// mustLimitError checks that err is a *LimitError for limit at path, with
// the message given.
func mustLimitError(t *testing.T, err error, limit, path string, got int, msg string) {
	t.Helper()
	var le *value.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LimitError", err)
	}
	if le.Limit != limit || le.Path != path || le.Got != got {
		t.Fatalf("LimitError{Limit: %q, Path: %q, Got: %d}, want {%q, %q, %d}", le.Limit, le.Path, le.Got, limit, path, got)
	}
	if msg != "" && err.Error() != msg {
		t.Fatalf("message %q, want %q", err.Error(), msg)
	}
}

func TestCheckValue_Boundaries(t *testing.T) {
	manyFields := func(n int) obj {
		o := obj{}
		for i := range n {
			o[fmt.Sprintf("f%04d", i)] = int64(0)
		}
		return o
	}
	longName := func(n int) string { return strings.Repeat("n", n) }
	tests := []struct {
		name      string
		ok, over  any
		limit     string
		path      string
		got       int
		msg       string
		checkName bool
	}{
		{
			name: "array length", limit: "MaxArrayLen", path: ".a[1]", got: 8193,
			ok:   obj{"a": []any{nil, make([]any, value.MaxArrayLen)}},
			over: obj{"a": []any{nil, make([]any, value.MaxArrayLen+1)}},
			msg:  "Array length is too long (8193 > maximum length 8192) (at path .a[1])",
		},
		{
			name: "object fields", limit: "MaxObjectFields", path: ".o", got: 1025,
			ok:   obj{"o": manyFields(value.MaxObjectFields)},
			over: obj{"o": manyFields(value.MaxObjectFields + 1)},
			msg:  "Object has too many fields (1025 > maximum number 1024) (at path .o)",
		},
		{
			name: "top-level object fields", limit: "MaxObjectFields", path: "", got: 1025,
			ok:   manyFields(value.MaxObjectFields),
			over: manyFields(value.MaxObjectFields + 1),
			msg:  "Object has too many fields (1025 > maximum number 1024)",
		},
		{
			name: "nesting", limit: "MaxNesting", path: "[0]" + strings.Repeat("[0]", 63), got: 65,
			ok:   nested(value.MaxNesting, nil),
			over: []any{nested(value.MaxNesting, nil)},
			msg:  "Value is too nested (nested 65 levels deep > maximum nesting 64) (at path [0]" + strings.Repeat("[0]", 63) + ")",
		},
		{
			name: "value size", limit: "MaxValueSize", path: "", got: value.MaxValueSize + 1,
			ok:   sizedArray(value.MaxValueSize),
			over: sizedArray(value.MaxValueSize + 1),
			msg:  "Value is too large (32 MiB (33554433 bytes) > maximum size 32 MiB)",
		},
		{
			name: "field name length", limit: "MaxFieldNameLen", path: ".x." + longName(1025), got: 1025,
			ok:   obj{"x": obj{longName(value.MaxFieldNameLen): nil}},
			over: obj{"x": obj{longName(value.MaxFieldNameLen + 1): nil}},
			msg:  "Field name is too long (1025 > maximum 1024) (at path .x." + longName(1025) + ")", checkName: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := value.CheckValue(tc.ok); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			err := value.CheckValue(tc.over)
			mustLimitError(t, err, tc.limit, tc.path, tc.got, tc.msg)
			var ne *value.NameError
			if errors.As(err, &ne) != tc.checkName {
				t.Fatalf("errors.As(*NameError) = %v, want %v", !tc.checkName, tc.checkName)
			}
		})
	}
}

// sizedArray returns an array of the given Size made of 8192 strings, all
// but the last one sharing their bytes, so that it costs little memory.
func sizedArray(size int) []any {
	const n = value.MaxArrayLen
	s := strings.Repeat("x", size/n-2)
	out := make([]any, n)
	for i := range out {
		out[i] = s
	}
	out[n-1] = strings.Repeat("x", size-2-(n-1)*(len(s)+2)-2)
	if value.Size(out) != size {
		panic(fmt.Sprintf("sizedArray(%d) has size %d", size, value.Size(out)))
	}
	return out
}

func TestCheckDocument_Boundaries(t *testing.T) {
	sizedDoc := func(size int) obj {
		doc := newDoc(obj{"s": ""})
		pad := size - value.DocumentSize(doc)
		doc["s"] = strings.Repeat("x", pad)
		if value.DocumentSize(doc) != size {
			t.Fatalf("sizedDoc(%d) has size %d", size, value.DocumentSize(doc))
		}
		return doc
	}
	tests := []struct {
		name     string
		ok, over obj
		limit    string
		path     string
		got      int
		msg      string
	}{
		{
			name: "document size", limit: "MaxDocumentSize", path: "", got: value.MaxDocumentSize + 1,
			ok: sizedDoc(value.MaxDocumentSize), over: sizedDoc(value.MaxDocumentSize + 1),
			msg: "Value is too large (1 MiB (1048577 bytes) > maximum size 1 MiB)",
		},
		{
			// The document counts one level: 15 arrays inside make 16.
			name: "document nesting", limit: "MaxDocumentNesting", path: ".x" + strings.Repeat("[0]", 15), got: 17,
			ok:   newDoc(obj{"x": nested(15, int64(1))}),
			over: newDoc(obj{"x": nested(16, int64(1))}),
			msg:  "Document is too nested (nested 17 levels deep > maximum nesting 16) (at path .x" + strings.Repeat("[0]", 15) + ")",
		},
		{
			// Past 64 levels the value limit is reported, as in Convex.
			name: "value nesting in a document", limit: "MaxNesting", path: ".x" + strings.Repeat("[0]", 63), got: 65,
			ok:   newDoc(obj{"x": nested(15, int64(1))}),
			over: newDoc(obj{"x": nested(64, int64(1))}),
		},
		{
			name: "array length in a document", limit: "MaxArrayLen", path: ".list", got: 8193,
			ok:   newDoc(obj{"list": make([]any, value.MaxArrayLen)}),
			over: newDoc(obj{"list": make([]any, value.MaxArrayLen+1)}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := value.CheckDocument(tc.ok); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			mustLimitError(t, value.CheckDocument(tc.over), tc.limit, tc.path, tc.got, tc.msg)
		})
	}
}

func TestCheckDocument_SystemFieldNames(t *testing.T) {
	if err := value.CheckDocument(newDoc(obj{"a": obj{"_nested": int64(1)}})); err != nil {
		t.Fatalf("nested underscore field: %v", err)
	}
	err := value.CheckDocument(newDoc(obj{"_x": int64(1)}))
	var ne *value.NameError
	if !errors.As(err, &ne) || ne.Path != "._x" {
		t.Fatalf("err = %v, want *NameError at ._x", err)
	}
	want := "Field '_x' starts with an underscore, which is only allowed for system fields like '_id' (at path ._x)"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if err := value.CheckValue(obj{"_x": int64(1)}); err != nil {
		t.Fatalf("CheckValue must accept _x: %v", err)
	}
	if err := value.CheckDocument(nil); err != nil {
		t.Fatalf("CheckDocument(nil): %v", err)
	}
}

func TestCheckValue_Invalid_ErrorsWithPath(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"dollar field", obj{"a": []any{obj{"$b": nil}}}, "Field name $b starts with '$', which is reserved. (at path .a[0].$b)"},
		{"control character", obj{"a\tb": nil}, "Field name a\tb has invalid character '\t': Field names can only contain non-control ASCII characters (at path .a\tb)"},
		{"non-ASCII", obj{"é": nil}, "Field name é has invalid character 'é': Field names can only contain non-control ASCII characters (at path .é)"},
		{"undefined in array", obj{"a": []any{nil, value.Undefined}}, "undefined is not a valid Convex value (at path .a[1])"},
		{"uint64 overflow", obj{"n": uint64(1 << 63)}, "unsigned integer 9223372036854775808 does not fit into a 64-bit signed integer (at path .n)"},
		{"unsupported type", []any{struct{}{}}, "struct {} is not a supported Convex type (at path [0])"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := value.CheckValue(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("CheckValue = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCheckValue_Valid(t *testing.T) {
	for _, x := range []any{nil, int64(1), "", obj{"": nil, " ": nil, "~": []any{}}, obj{"a": value.Undefined},
		[]any{[]byte{}, value.ID("x")}, 7, []string{"a"}, experimentValues()[1:]} {
		if err := value.CheckValue(x); err != nil {
			t.Fatalf("CheckValue(%#v): %v", x, err)
		}
	}
}

// TestCheckValue_SeveralProblems_StableError checks that the reported error
// does not depend on map iteration order: the first field in sorted order
// wins.
func TestCheckValue_SeveralProblems_StableError(t *testing.T) {
	in := obj{"z": obj{"$z": nil}, "b": obj{"$b": nil}, "m": make([]any, value.MaxArrayLen+1)}
	for range 50 {
		if err := value.CheckValue(in); err == nil || !strings.HasSuffix(err.Error(), "(at path .b.$b)") {
			t.Fatalf("err = %v, want the error at .b.$b", err)
		}
	}
}

func TestCheckIdentifier_Rules(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when valid
	}{
		{"a", ""}, {"_a", ""}, {"A_1", ""}, {"by_status", ""}, {strings.Repeat("a", 64), ""},
		{"", "Identifier cannot be empty"},
		{"1a", "Invalid first character '1' in 1a: Identifiers must start with an alphabetic character or underscore"},
		{"a-b", "Identifier a-b has invalid character '-': Identifiers can only contain alphanumeric characters or underscores"},
		{"é", "Invalid first character 'é' in é: Identifiers must start with an alphabetic character or underscore"},
		{"___", "Identifier ___ cannot have exclusively underscores"},
		{"_", "Identifier _ cannot have exclusively underscores"},
		{strings.Repeat("a", 65), "Identifier is too long (65 > maximum 64)"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := value.CheckIdentifier(tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckIdentifier(%q): %v", tc.in, err)
				}
				return
			}
			var ne *value.NameError
			if !errors.As(err, &ne) || err.Error() != tc.want || ne.Name != tc.in {
				t.Fatalf("CheckIdentifier(%q) = %v, want *NameError %q", tc.in, err, tc.want)
			}
		})
	}
	var le *value.LimitError
	if err := value.CheckIdentifier(strings.Repeat("a", 65)); !errors.As(err, &le) || le.Limit != "MaxIdentifierLen" || le.Got != 65 {
		t.Fatalf("too long identifier: %v, want *LimitError MaxIdentifierLen", err)
	}
}

func TestCheckFieldName_Rules(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", ""}, {" ", ""}, {"a$", ""}, {"_id", ""}, {"~!@#", ""}, {"my-field", ""},
		{strings.Repeat("n", 1024), ""},
		{"$a", "Field name $a starts with '$', which is reserved."},
		{"a\x7f", "Field name a\x7f has invalid character '\x7f': Field names can only contain non-control ASCII characters"},
		{"\x00", "Field name \x00 has invalid character '\x00': Field names can only contain non-control ASCII characters"},
		{strings.Repeat("n", 1025), "Field name is too long (1025 > maximum 1024)"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := value.CheckFieldName(tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckFieldName(%q): %v", tc.in, err)
				}
				return
			}
			var ne *value.NameError
			if !errors.As(err, &ne) || err.Error() != tc.want {
				t.Fatalf("CheckFieldName(%q) = %v, want %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestLimitError_Messages(t *testing.T) {
	tests := []struct {
		err  *value.LimitError
		want string
	}{
		{&value.LimitError{Limit: "MaxDocumentSize", Max: 1 << 20, Got: 1100069}, "Value is too large (1.05 MiB > maximum size 1 MiB)"},
		{&value.LimitError{Limit: "MaxValueSize", Max: 1 << 25, Got: 1 << 26}, "Value is too large (64 MiB > maximum size 32 MiB)"},
		{&value.LimitError{Limit: "MaxValueSize", Max: 1000, Got: 1536}, "Value is too large (1.5 KiB > maximum size 1000 B)"},
		{&value.LimitError{Limit: "MaxArrayLen", Max: 8192, Got: 9000, Path: ".a"}, "Array length is too long (9000 > maximum length 8192) (at path .a)"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Fatalf("Error() = %q, want %q", got, tc.want)
		}
	}
}
