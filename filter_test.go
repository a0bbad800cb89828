package livedb

// White-box tests of filter.go: evalFilter and Expr.eval are unexported.
//
// Most cases are golden files in testdata/filter/*.txt, run by
// filter_golden_test.go; the tests here show behaviour that the golden files
// cannot show.

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/value"
)

func TestFilterBuilder_Field_BadPathIsEvalError(t *testing.T) {
	var f FilterBuilder
	for _, path := range []string{"", ".", "a..b", "a.1b", "my-field", "_", "a.$b", strings.Repeat("x", 65)} {
		t.Run(strconv.Quote(path), func(t *testing.T) {
			e := f.Field(path)
			if s := e.String(); !strings.Contains(s, `"$field"`) {
				t.Errorf("String() = %s", s)
			}
			_, err := evalFilter(f.Eq(e, 1), map[string]any{"a": 1})
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v, want *EvalError", err)
			}
			if !strings.HasPrefix(err.Error(), "livedb: filter: invalid field path "+strconv.Quote(path)) {
				t.Errorf("err = %q", err)
			}
			var ne *value.NameError
			if path != "" && path != "." && !errors.As(err, &ne) {
				t.Errorf("err = %v, want it to wrap *value.NameError", err)
			}
		})
	}
}

func TestFilterBuilder_Literal_UnsupportedIsEvalError(t *testing.T) {
	var f FilterBuilder
	tests := []struct {
		name string
		x    any
		want string
	}{
		{"chan", make(chan int), "chan int is not a supported Convex type"},
		{"func", func() {}, "func() is not a supported Convex type"},
		{"struct", struct{ A int }{1}, "is not a supported Convex type"},
		{"nested", map[string]any{"a": []any{1, make(chan int)}}, "(at path .a[1])"},
		{"uint64", uint64(math.MaxUint64), "does not fit into a 64-bit signed integer"},
		{"badUTF8", "\xff", "string is not valid UTF-8"},
		{"dollarField", map[string]any{"$a": 1}, "Field name $a starts with '$', which is reserved."},
		{"undefinedInArray", []any{value.Undefined}, "undefined is not a valid Convex value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, e := range []Expr{f.Literal(tc.x), f.Eq(f.Field("a"), tc.x), f.And(tc.x)} {
				_ = e.String() // must not panic
				_, err := evalFilter(e, map[string]any{})
				var ee *EvalError
				if !errors.As(err, &ee) || ee.Err == nil {
					t.Fatalf("err = %#v, want *EvalError with a cause", err)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "livedb: filter: invalid literal: ") {
					t.Errorf("err = %q, want it to contain %q", err, tc.want)
				}
			}
		})
	}
}

func TestFilterBuilder_Literal_CopiesInput(t *testing.T) {
	var f FilterBuilder
	arr := []any{int64(1)}
	e := f.Eq(f.Field("a"), arr)
	arr[0] = int64(2)
	ok, err := evalFilter(e, map[string]any{"a": []any{int64(1)}})
	if err != nil || !ok {
		t.Errorf("evalFilter = %v, %v; want true (literal captured when built)", ok, err)
	}
}

func TestFilterBuilder_Literal_GoIntsAreInt64(t *testing.T) {
	var f FilterBuilder
	doc := map[string]any{"n": int64(3)}
	for _, x := range []any{3, int8(3), int16(3), int32(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), uintptr(3)} {
		ok, err := evalFilter(f.Eq(f.Field("n"), x), doc)
		if err != nil || !ok {
			t.Errorf("Eq(n, %T(3)) = %v, %v; want true", x, ok, err)
		}
	}
	if ok, _ := evalFilter(f.Eq(f.Field("n"), 3.0), doc); ok {
		t.Errorf("Eq(n, 3.0) = true for n = int64 3; Int64 and Float64 never compare equal")
	}
}

func TestFilterBuilder_Or_ShortCircuit(t *testing.T) {
	var f FilterBuilder
	bad := f.Add("x", 1) // fails if evaluated
	tests := []struct {
		name    string
		e       Expr
		want    bool
		wantErr bool
	}{
		{"orTrueFirst", f.Or(true, bad), true, false},
		{"orFalseFirst", f.Or(false, bad), false, true},
		{"andFalseFirst", f.And(false, bad), false, false},
		{"andTrueFirst", f.And(true, bad), false, true},
		{"orStopsBeforeNonBoolean", f.Or(f.Eq(1, 1), "not a boolean"), true, false},
		{"andStopsBeforeBadField", f.And(f.Eq(1, 2), f.Field("a..b")), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := evalFilter(tc.e, nil)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("evalFilter(%s) = %v, %v; want %v, error %v", tc.e, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFilter_EvalFilter_NilExpr(t *testing.T) {
	var ee *EvalError
	if _, err := evalFilter(nil, nil); !errors.As(err, &ee) {
		t.Errorf("evalFilter(nil) err = %v, want *EvalError", err)
	}
}

func TestFilter_EvalFilter_NilDocument(t *testing.T) {
	var f FilterBuilder
	ok, err := evalFilter(f.Eq(f.Field("a.b"), value.Undefined), nil)
	if err != nil || !ok {
		t.Errorf("evalFilter on nil doc = %v, %v; want true", ok, err)
	}
}

func TestEvalError_Error_Format(t *testing.T) {
	var f FilterBuilder
	_, err := evalFilter(f.Add(int64(1), 1.0), nil)
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *EvalError", err)
	}
	if want := "Cannot add 1 (type Int64) and 1.0 (type Float64)"; ee.Message != want {
		t.Errorf("Message = %q, want %q", ee.Message, want)
	}
	if want := "livedb: filter: Cannot add 1 (type Int64) and 1.0 (type Float64)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if ee.Unwrap() != nil {
		t.Errorf("Unwrap() = %v, want nil for an evaluation error", ee.Unwrap())
	}
}

func TestFilter_String_Deterministic(t *testing.T) {
	var f FilterBuilder
	obj := map[string]any{}
	for i := range 50 {
		obj[fmt.Sprintf("k%02d", i)] = i
	}
	e := f.Eq(f.Field("o"), obj)
	first := e.String()
	for range 20 {
		if s := f.Eq(f.Field("o"), obj).String(); s != first {
			t.Fatalf("String() differs between runs:\n%s\n%s", first, s)
		}
	}
	if !strings.Contains(first, `"k00":{"$integer":"AAAAAAAAAAA="},"k01":`) {
		t.Errorf("String() = %s, want sorted keys", first)
	}
}

// TestFilter_Fmod_MatchesMathMod checks fmod against math.Mod wherever
// both define the result (math.Mod only differs in the NaN it returns).
func TestFilter_Fmod_MatchesMathMod(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 2.5, -7.5, 1e300, -1e-300, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64}
	for _, x := range vals {
		for _, y := range vals {
			got, want := fmod(x, y), math.Mod(x, y)
			if math.IsNaN(want) {
				if !math.IsNaN(got) {
					t.Errorf("fmod(%v, %v) = %v, want NaN", x, y, got)
				}
				continue
			}
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("fmod(%v, %v) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// FuzzFilterBuilder_Int64Arithmetic checks checked Int64 arithmetic against
// math/big: the result when it is in range, the overflow or division error
// otherwise.
func FuzzFilterBuilder_Int64Arithmetic(f *testing.F) {
	for _, seed := range [][2]int64{
		{1, 2}, {math.MaxInt64, 1}, {math.MinInt64, -1}, {math.MinInt64, 1}, {-7, 2}, {7, -2},
		{5, 0}, {math.MinInt64, math.MinInt64}, {-1, math.MinInt64}, {1 << 32, 1 << 31}, {0, 0},
	} {
		for op := range 6 {
			f.Add(seed[0], seed[1], uint8(op))
		}
	}
	var fb FilterBuilder
	ops := []struct {
		verb  string
		build func(a, b any) Expr
		big   func(z, x, y *big.Int) *big.Int
	}{
		{"add", fb.Add, (*big.Int).Add},
		{"subtract", fb.Sub, (*big.Int).Sub},
		{"multiply", fb.Mul, (*big.Int).Mul},
		{"divide", fb.Div, (*big.Int).Quo}, // Quo truncates, like Rust and Go
		{"mod", fb.Mod, (*big.Int).Rem},    // Rem has the sign of x
	}
	f.Fuzz(func(t *testing.T, a, b int64, op uint8) {
		if int(op) >= len(ops)+1 {
			return
		}
		if int(op) == len(ops) { // neg
			got, err := fb.Neg(a).eval(nil)
			if a == math.MinInt64 {
				wantErr := "livedb: filter: Cannot negate -9223372036854775808: the result is out of range for Int64"
				if err == nil || err.Error() != wantErr {
					t.Fatalf("Neg(%d) = %v, %v; want %s", a, got, err, wantErr)
				}
				return
			}
			if err != nil || got != -a {
				t.Fatalf("Neg(%d) = %v, %v", a, got, err)
			}
			return
		}
		o := ops[op]
		got, err := o.build(a, b).eval(nil)
		if b == 0 && (o.verb == "divide" || o.verb == "mod") {
			want := fmt.Sprintf("livedb: filter: Cannot %s %d by zero", o.verb, a)
			if err == nil || err.Error() != want {
				t.Fatalf("%s(%d, %d) = %v, %v; want error %s", o.verb, a, b, got, err, want)
			}
			return
		}
		exact := o.big(new(big.Int), big.NewInt(a), big.NewInt(b))
		if !exact.IsInt64() || (o.verb == "mod" && a == math.MinInt64 && b == -1) {
			// Rust's checked_rem also refuses MIN % -1, though the remainder is 0.
			want := fmt.Sprintf("livedb: filter: Cannot %s %d and %d: the result is out of range for Int64", o.verb, a, b)
			if err == nil || err.Error() != want {
				t.Fatalf("%s(%d, %d) = %v, %v; want error %s", o.verb, a, b, got, err, want)
			}
			return
		}
		if err != nil || got != exact.Int64() {
			t.Fatalf("%s(%d, %d) = %v, %v; want %d", o.verb, a, b, got, err, exact.Int64())
		}
	})
}

// FuzzFilterBuilder_Eval builds expressions from the golden files' language
// and checks that evaluation never panics, errors are *EvalError, and
// String is deterministic.
func FuzzFilterBuilder_Eval(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "filter", "*.txt"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if cmd, arg, ok := strings.Cut(line, " "); ok && isFilterCommand(cmd) {
				f.Add(arg)
			}
		}
	}
	doc := map[string]any{
		"_id": "abc", "_creationTime": 1.5e12, "a": int64(1), "b": 2.5, "s": "x", "t": true,
		"o": map[string]any{"p": int64(-3), "q": []any{int64(1), nil}}, "by": []byte{1, 2},
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !utf8.ValidString(src) {
			return
		}
		e, err := parseFilterExpr(src)
		if err != nil {
			return
		}
		s1 := e.String()
		x, err := e.eval(doc)
		if err != nil {
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("eval(%s) err = %T %v, want *EvalError", src, err, err)
			}
		} else if _, ok := value.KindOf(x); !ok {
			t.Fatalf("eval(%s) = %#v, not a value", src, x)
		}
		if _, err := evalFilter(e, doc); err != nil {
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("evalFilter(%s) err = %T, want *EvalError", src, err)
			}
		}
		if s2 := e.String(); s1 != s2 {
			t.Fatalf("String() not stable: %s vs %s", s1, s2)
		}
	})
}

// ---- benchmark ----

func BenchmarkFilterEval(b *testing.B) {
	var f FilterBuilder
	e := f.And(f.Eq(f.Field("status"), "running"), f.Gt(f.Field("meta.attempt"), int64(2)))
	doc := map[string]any{
		"_id":           "jd7f3k2m9q8r4t6v1w5x0y2z3a4b5c6d",
		"_creationTime": 1.7e12,
		"workflowId":    "k57a2b3c4d5e6f7g8h9j0k1m2n3p4q5r",
		"agentType":     "coder",
		"status":        "running",
		"output":        "partial output of the agent",
		"meta":          map[string]any{"attempt": int64(3), "model": "large", "tokens": int64(12000)},
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := evalFilter(e, doc)
		if err != nil || !ok {
			b.Fatalf("evalFilter = %v, %v", ok, err)
		}
	}
}
