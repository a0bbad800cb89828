package v_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vconform"
	"github.com/livedb-go/livedb/v"
)

// acceptCase is one value checked against one validator: want is the
// conformed value when ok, and reason the failure otherwise.
type acceptCase struct {
	name   string
	val    v.Validator
	in     any
	ok     bool
	want   any
	reason v.Reason
}

// runAcceptCases checks Validate and Conform (with the test tables) on each
// case.
func runAcceptCases(t *testing.T, cases []acceptCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			verr := tc.val.Validate(tc.in)
			got, cerr := vconform.Conform(tc.val, tc.in, testTableName)
			if !tc.ok {
				if cerr == nil {
					t.Fatalf("Conform(%#v) = %#v, want an error", tc.in, got)
				}
				if ve := MustValidationError(t, cerr); ve.Reason != tc.reason {
					t.Fatalf("Conform error reason = %v, want %v (%v)", ve.Reason, tc.reason, cerr)
				}
				return
			}
			if verr != nil {
				t.Fatalf("Validate(%#v) = %v, want nil", tc.in, verr)
			}
			if cerr != nil {
				t.Fatalf("Conform(%#v) = %v, want nil", tc.in, cerr)
			}
			if !sameValue(got, tc.want) {
				t.Fatalf("Conform(%#v) = %#v (%T), want %#v (%T)", tc.in, got, got, tc.want, tc.want)
			}
		})
	}
}

// sameValue compares conformed values exactly: same Go types, floats by bits.
func sameValue(a, b any) bool {
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		return ok && math.Float64bits(fa) == math.Float64bits(fb)
	}
	return reflect.DeepEqual(a, b)
}

var negZero = math.Copysign(0, -1)

func TestScalar_Conform(t *testing.T) {
	nan := math.NaN()
	runAcceptCases(t, []acceptCase{
		// Null.
		{name: "null/nil", val: v.Null(), in: nil, ok: true, want: nil},
		{name: "null/false", val: v.Null(), in: false, reason: v.ReasonNoMatch},
		{name: "null/zero", val: v.Null(), in: int64(0), reason: v.ReasonNoMatch},
		// Float64.
		{name: "float64/float", val: v.Float64(), in: 1.5, ok: true, want: 1.5},
		{name: "float64/nan", val: v.Float64(), in: nan, ok: true, want: nan},
		{name: "float64/inf", val: v.Float64(), in: math.Inf(-1), ok: true, want: math.Inf(-1)},
		{name: "float64/negative zero", val: v.Float64(), in: negZero, ok: true, want: negZero},
		{name: "float64/float32", val: v.Float64(), in: float32(0.5), ok: true, want: 0.5},
		{name: "float64/go int", val: v.Float64(), in: 3, ok: true, want: 3.0},
		{name: "float64/go int8", val: v.Float64(), in: int8(-3), ok: true, want: -3.0},
		{name: "float64/go uint8", val: v.Float64(), in: uint8(200), ok: true, want: 200.0},
		{name: "float64/2^53", val: v.Float64(), in: 1 << 53, ok: true, want: float64(1 << 53)},
		{name: "float64/-2^53", val: v.Float64(), in: -(1 << 53), ok: true, want: -float64(1 << 53)},
		{name: "float64/2^53+1", val: v.Float64(), in: 1<<53 + 1, reason: v.ReasonNoMatch},
		{name: "float64/uint64 beyond 2^53", val: v.Float64(), in: uint64(1) << 60, reason: v.ReasonNoMatch},
		{name: "float64/int64", val: v.Float64(), in: int64(1), reason: v.ReasonNoMatch},
		{name: "float64/string", val: v.Float64(), in: "1", reason: v.ReasonNoMatch},
		{name: "number alias", val: v.Number(), in: 2, ok: true, want: 2.0},
		// Int64.
		{name: "int64/int64", val: v.Int64(), in: int64(-7), ok: true, want: int64(-7)},
		{name: "int64/go int", val: v.Int64(), in: 7, ok: true, want: int64(7)},
		{name: "int64/go uint32", val: v.Int64(), in: uint32(math.MaxUint32), ok: true, want: int64(math.MaxUint32)},
		{name: "int64/max uint64 fitting", val: v.Int64(), in: uint64(math.MaxInt64), ok: true, want: int64(math.MaxInt64)},
		{name: "int64/big uint64", val: v.Int64(), in: uint64(math.MaxUint64), reason: v.ReasonInvalidValue},
		{name: "int64/float", val: v.Int64(), in: 1.0, reason: v.ReasonNoMatch},
		{name: "int64/float32", val: v.Int64(), in: float32(1), reason: v.ReasonNoMatch},
		{name: "bigint alias", val: v.BigInt(), in: int64(1), ok: true, want: int64(1)},
		// Boolean.
		{name: "boolean/true", val: v.Boolean(), in: true, ok: true, want: true},
		{name: "boolean/string", val: v.Boolean(), in: "true", reason: v.ReasonNoMatch},
		// String.
		{name: "string/string", val: v.String(), in: "héllo", ok: true, want: "héllo"},
		{name: "string/empty", val: v.String(), in: "", ok: true, want: ""},
		{name: "string/id", val: v.String(), in: value.ID("abc"), ok: true, want: "abc"},
		{name: "string/bad utf8", val: v.String(), in: "a\xff", reason: v.ReasonInvalidValue},
		{name: "string/bytes", val: v.String(), in: []byte("a"), reason: v.ReasonNoMatch},
		{name: "string/nil", val: v.String(), in: nil, reason: v.ReasonNoMatch},
		{name: "string/undefined", val: v.String(), in: value.Undefined, reason: v.ReasonInvalidValue},
		{name: "string/unsupported type", val: v.String(), in: time.Time{}, reason: v.ReasonInvalidValue},
		// Bytes.
		{name: "bytes/bytes", val: v.Bytes(), in: []byte{1, 2}, ok: true, want: []byte{1, 2}},
		{name: "bytes/empty", val: v.Bytes(), in: []byte{}, ok: true, want: []byte{}},
		{name: "bytes/string", val: v.Bytes(), in: "AQI=", reason: v.ReasonNoMatch},
		// Any.
		{name: "any/int", val: v.Any(), in: 5, ok: true, want: int64(5)},
		{name: "any/nested", val: v.Any(), in: map[string]any{"a": []any{1, "x", nil}, "u": value.Undefined},
			ok: true, want: map[string]any{"a": []any{int64(1), "x", nil}}},
		{name: "any/string slice", val: v.Any(), in: []string{"a"}, ok: true, want: []any{"a"}},
		{name: "any/undefined in array", val: v.Any(), in: []any{value.Undefined}, reason: v.ReasonInvalidValue},
		{name: "any/bad utf8 nested", val: v.Any(), in: map[string]any{"a": "\xff"}, reason: v.ReasonInvalidValue},
		{name: "any/unsupported", val: v.Any(), in: struct{}{}, reason: v.ReasonInvalidValue},
		{name: "any/undefined", val: v.Any(), in: value.Undefined, reason: v.ReasonInvalidValue},
	})
}

func TestScalar_ConformCopiesBytes(t *testing.T) {
	in := []byte{1, 2, 3}
	got, err := vconform.Conform(v.Bytes(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 9
	if got.([]byte)[0] != 1 {
		t.Fatal("Conform returned the caller's slice, want a copy")
	}
}

func TestValidate_InvalidValuePath(t *testing.T) {
	val := v.Object(v.Fields{"a": v.Array(v.Any())})
	err := val.Validate(map[string]any{"a": []any{map[string]any{"b": "\xff"}}})
	ve := MustValidationError(t, err)
	if ve.Reason != v.ReasonInvalidValue || ve.Path != ".a[0].b" {
		t.Fatalf("got reason %v path %q, want InvalidValue at .a[0].b (%v)", ve.Reason, ve.Path, err)
	}
	if want := "string is not valid UTF-8.\nPath: .a[0].b"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
}

func TestID_Conform(t *testing.T) {
	wf := testID(workflowsTable, 1)
	user := testID(usersTable, 2)
	runAcceptCases(t, []acceptCase{
		{name: "own table", val: v.ID("workflows"), in: wf, ok: true, want: wf},
		{name: "value.ID", val: v.ID("workflows"), in: value.ID(wf), ok: true, want: wf},
		{name: "other table", val: v.ID("workflows"), in: user, reason: v.ReasonTableMismatch},
		{name: "system table", val: v.ID("workflows"), in: testID(storageTable, 3), reason: v.ReasonSystemTable},
		{name: "system validator", val: v.ID("_storage"), in: testID(storageTable, 3), ok: true, want: testID(storageTable, 3)},
		{name: "unknown table", val: v.ID("workflows"), in: testID(unknownTable, 4), reason: v.ReasonNoMatch},
		{name: "not an id", val: v.ID("workflows"), in: "hello", reason: v.ReasonNoMatch},
		{name: "bad checksum", val: v.ID("workflows"), in: wf[:31] + flipDigit(wf[31]), reason: v.ReasonNoMatch},
		{name: "number", val: v.ID("workflows"), in: 1.0, reason: v.ReasonNoMatch},
		{name: "id is a string", val: v.String(), in: wf, ok: true, want: wf},
	})
}

// flipDigit returns another base32 digit.
func flipDigit(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestID_ValidateWithoutTables(t *testing.T) {
	// Without Options.TableName any well-formed ID passes.
	if err := v.ID("workflows").Validate(testID(usersTable, 1)); err != nil {
		t.Fatalf("Validate(ID of users) = %v, want nil", err)
	}
	if _, err := vconform.Conform(v.ID("workflows"), testID(unknownTable, 1), nil); err != nil {
		t.Fatalf("Conform(ID of unknown table, nil) = %v, want nil", err)
	}
	if err := v.ID("workflows").Validate("j57000820c20a1g7104gm2rc1m70ynr9"); err == nil {
		t.Fatal("Validate(corrupt ID) = nil, want an error")
	}
}

func TestID_ErrorMessages(t *testing.T) {
	user := testID(usersTable, 2)
	doc := map[string]any{"workflowId": user}
	val := v.Object(v.Fields{"workflowId": v.ID("workflows")})
	_, err := vconform.Conform(val, doc, testTableName)
	want := "Found ID \"" + user + "\" from table `users`, which does not match the table name in validator `v.id(\"workflows\")`.Path: .workflowId"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	ve := MustValidationError(t, err)
	if ve.Table != "users" || ve.Value != user || ve.Path != ".workflowId" {
		t.Fatalf("fields = %+v", ve)
	}
	sys := testID(storageTable, 1)
	_, err = vconform.Conform(v.ID("workflows"), sys, testTableName)
	want = "Found ID \"" + sys + "\" from a system table, which does not match the table name in validator `v.id(\"workflows\")`."
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func TestLiteral_Conform(t *testing.T) {
	runAcceptCases(t, []acceptCase{
		{name: "string", val: v.Literal("a"), in: "a", ok: true, want: "a"},
		{name: "string id", val: v.Literal("a"), in: value.ID("a"), ok: true, want: "a"},
		{name: "string other", val: v.Literal("a"), in: "b", reason: v.ReasonLiteral},
		{name: "bool", val: v.Literal(true), in: true, ok: true, want: true},
		{name: "bool other", val: v.Literal(true), in: false, reason: v.ReasonLiteral},
		{name: "float", val: v.Literal(1.0), in: 1.0, ok: true, want: 1.0},
		{name: "float rejects int64", val: v.Literal(1.0), in: int64(1), reason: v.ReasonLiteral},
		{name: "float accepts go int", val: v.Literal(1.0), in: 1, ok: true, want: 1.0},
		{name: "go int literal is float", val: v.Literal(1), in: 1.0, ok: true, want: 1.0},
		{name: "go int literal rejects int64", val: v.Literal(1), in: int64(1), reason: v.ReasonLiteral},
		{name: "int64", val: v.Literal(int64(1)), in: int64(1), ok: true, want: int64(1)},
		{name: "int64 accepts go int", val: v.Literal(int64(1)), in: 1, ok: true, want: int64(1)},
		{name: "int64 rejects float", val: v.Literal(int64(1)), in: 1.0, reason: v.ReasonLiteral},
		{name: "zero rejects negative zero", val: v.Literal(0.0), in: negZero, reason: v.ReasonLiteral},
		{name: "negative zero", val: v.Literal(negZero), in: negZero, ok: true, want: negZero},
		{name: "nan same bits", val: v.Literal(math.NaN()), in: math.NaN(), ok: true, want: math.NaN()},
		{name: "nan other bits", val: v.Literal(math.NaN()), in: math.Float64frombits(0x7FF8000000000000), reason: v.ReasonLiteral},
		{name: "float32 literal", val: v.Literal(float32(0.5)), in: 0.5, ok: true, want: 0.5},
		{name: "wrong type", val: v.Literal("1"), in: 1.0, reason: v.ReasonLiteral},
	})
}

func TestLiteral_ErrorMessage(t *testing.T) {
	tests := []struct {
		lit  any
		in   any
		want string
	}{
		{"pending", "done", "`\"done\"` does not match literal validator `v.literal(\"pending\")`."},
		{1.0, int64(1), "`1` does not match literal validator `v.literal(1.0)`."},
		{int64(5), 5.0, "`5.0` does not match literal validator `v.literal(<bigint>)`."},
		{math.Inf(1), 1.0, "`1.0` does not match literal validator `v.literal(<number>)`."},
		{1e-5, 1.0, "`1.0` does not match literal validator `v.literal(0.00001)`."},
		{1e16, 1.0, "`1.0` does not match literal validator `v.literal(1e16)`."},
		{true, nil, "`null` does not match literal validator `v.literal(true)`."},
		{"a\"\n", "b", "`\"b\"` does not match literal validator `v.literal(\"a\\\"\\n\")`."},
	}
	for _, tc := range tests {
		err := v.Literal(tc.lit).Validate(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Literal(%v).Validate(%v) = %v\nwant %s", tc.lit, tc.in, err, tc.want)
		}
	}
}

func TestLiteral_DefinitionErrors(t *testing.T) {
	tests := []struct {
		name string
		lit  any
	}{
		{"nil", nil},
		{"bytes", []byte{1}},
		{"int beyond 2^53", 1<<53 + 1},
		{"huge uint64", uint64(math.MaxUint64)},
		{"struct", struct{}{}},
		{"bad utf8", "\xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := v.Literal(tc.lit)
			err := v.Err(l)
			if err == nil {
				t.Fatalf("Err(Literal(%#v)) = nil, want a definition error", tc.lit)
			}
			if verr := l.Validate("x"); verr != err {
				t.Fatalf("Validate = %v, want the definition error %v", verr, err)
			}
			if _, jerr := l.MarshalJSON(); jerr == nil {
				t.Fatal("MarshalJSON succeeded on a broken validator")
			}
		})
	}
}

func TestScalar_StringAndKind(t *testing.T) {
	tests := []struct {
		val        v.Validator
		str, kind  string
		isOptional bool
	}{
		{v.Null(), "v.null()", "null", false},
		{v.Float64(), "v.float64()", "number", false},
		{v.Number(), "v.float64()", "number", false},
		{v.Int64(), "v.int64()", "bigint", false},
		{v.Boolean(), "v.boolean()", "boolean", false},
		{v.String(), "v.string()", "string", false},
		{v.Bytes(), "v.bytes()", "bytes", false},
		{v.Any(), "v.any()", "any", false},
		{v.ID("users"), `v.id("users")`, "id", false},
		{v.Literal("a"), `v.literal("a")`, "literal", false},
		{v.Literal(2), `v.literal(2.0)`, "literal", false},
		{v.Array(v.String()), "v.array(v.string())", "array", false},
		{v.Record(v.String(), v.Int64()), "v.record(v.string(), v.int64())", "record", false},
		{v.Union(), "v.union()", "union", false},
		{v.Nullable(v.String()), "v.union(v.string(), v.null())", "union", false},
		{v.Optional(v.String()), "v.optional(v.string())", "string", true},
		{v.Object(v.Fields{"b": v.Optional(v.Float64()), "a": v.String()}), "v.object({a: v.string(), b: v.optional(v.float64())})", "object", false},
	}
	for _, tc := range tests {
		if got := tc.val.String(); got != tc.str {
			t.Errorf("String() = %s, want %s", got, tc.str)
		}
		if got := tc.val.Kind(); got != tc.kind {
			t.Errorf("%s.Kind() = %s, want %s", tc.str, got, tc.kind)
		}
		if got := tc.val.IsOptional(); got != tc.isOptional {
			t.Errorf("%s.IsOptional() = %v, want %v", tc.str, got, tc.isOptional)
		}
	}
}
