package livedb

import (
	"fmt"
	"math"
	"strings"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/value"
)

// Expr is a filter expression over one document, built with a
// [FilterBuilder] as in Convex's .filter(q => ...)
// (docs/semantics.md#filters). Expressions are immutable and safe for concurrent use; one Expr may
// be shared by many queries.
type Expr interface {
	// eval evaluates the expression against a document: a canonical map
	// that holds _id as a string and _creationTime as a float64. A missing
	// field evaluates to value.Undefined. The result is a canonical value or
	// value.Undefined, and must not be modified: it may share memory with
	// doc or with a literal. The error is an *EvalError.
	eval(doc map[string]any) (any, error)

	// String returns a deterministic textual form, Convex's JSON form of
	// the expression, such as
	// {"$eq":[{"$field":"status"},{"$literal":"running"}]}. Literals are in
	// Convex JSON (docs/semantics.md#convex-json): {"$integer":"AQAAAAAAAAA="} for 1 (int64), 1 for
	// 1.0, {"$undefined":null} for Undefined. It fingerprints queries for
	// cursors and names expressions in messages.
	String() string
}

// EvalError is the error of a filter expression: a type error or an Int64
// overflow met while evaluating it, a filter whose result is not a Boolean,
// or an expression built from bad input (a field path that is not dotted
// identifiers, a literal that is not a Convex value), which fails when it
// is evaluated.
type EvalError struct {
	// Message is the text Convex gives for the same error, such as
	// "Cannot add 1 (type Int64) and 1.0 (type Float64)".
	Message string
	// Err is the cause of a builder error (a *value.NameError or a
	// *value.NotValueError, for instance), nil otherwise.
	Err error
}

// Error returns the message prefixed with "livedb: filter: ".
func (e *EvalError) Error() string { return "livedb: filter: " + e.Message }

// Unwrap returns the cause of a builder error, or nil.
func (e *EvalError) Unwrap() error { return e.Err }

func evalErrorf(format string, args ...any) *EvalError {
	return &EvalError{Message: fmt.Sprintf(format, args...)}
}

// FilterBuilder builds filter expressions, as Convex's q in
// .filter(q => ...). Its zero value is ready to use.
//
// The operands of the builder's methods have type any: an [Expr], or a Go
// value taken as a literal (see [FilterBuilder.Literal]), so
// f.Eq(f.Field("status"), "running") compares a field with a string. A nil
// operand is the literal null.
//
// The builder never panics: bad input (a field path that is not dotted
// identifiers, a literal that is not a Convex value) gives an expression
// that fails with an *EvalError when it is evaluated.
type FilterBuilder struct{}

// Field returns the value of the field at path, a '.'-separated list of
// identifiers such as "meta.attempt". Leading and trailing dots are
// ignored, as Convex does. The path walks objects only: a missing field,
// or an array or other non-object on the way, evaluates to undefined.
func (FilterBuilder) Field(path string) Expr { return newField(path) }

// Literal returns an expression that evaluates to x: a Convex value, a Go
// value that normalises to one (Go integers become Int64, float32 becomes
// Float64, value.ID a String), or value.Undefined. x is copied, so later
// changes to it do not change the expression.
func (FilterBuilder) Literal(x any) Expr { return newLiteral(x) }

// Eq is true when a equals b by Convex's equality
// (docs/semantics.md#equality): 1 (Int64) and
// 1.0 differ, -0.0 and 0.0 differ, NaN equals a NaN with the same bits, and
// undefined equals only undefined.
func (FilterBuilder) Eq(a, b any) Expr { return newBinary(opEq, a, b) }

// Neq is the negation of [FilterBuilder.Eq].
func (FilterBuilder) Neq(a, b any) Expr { return newBinary(opNeq, a, b) }

// Lt is true when a sorts before b in Convex's total order
// (docs/semantics.md#value-order):
// undefined < null < Int64 < Float64 < Boolean < String < Bytes < Array <
// Object. Values of different types compare by that order, never
// numerically, so every Int64 is less than every Float64.
func (FilterBuilder) Lt(a, b any) Expr { return newBinary(opLt, a, b) }

// Lte is true when a sorts before or equals b; see [FilterBuilder.Lt].
func (FilterBuilder) Lte(a, b any) Expr { return newBinary(opLte, a, b) }

// Gt is true when a sorts after b; see [FilterBuilder.Lt].
func (FilterBuilder) Gt(a, b any) Expr { return newBinary(opGt, a, b) }

// Gte is true when a sorts after or equals b; see [FilterBuilder.Lt].
func (FilterBuilder) Gte(a, b any) Expr { return newBinary(opGte, a, b) }

// Add returns a + b. Both operands must be Int64, where a result out of
// range is an error, or both Float64 (IEEE-754); anything else is an
// *EvalError such as "Cannot add 1 (type Int64) and 1.0 (type Float64)".
func (FilterBuilder) Add(a, b any) Expr { return newBinary(opAdd, a, b) }

// Sub returns a - b, typed as [FilterBuilder.Add].
func (FilterBuilder) Sub(a, b any) Expr { return newBinary(opSub, a, b) }

// Mul returns a * b, typed as [FilterBuilder.Add].
func (FilterBuilder) Mul(a, b any) Expr { return newBinary(opMul, a, b) }

// Div returns a / b, typed as [FilterBuilder.Add]. Int64 division
// truncates toward zero; division by zero, and the minimum Int64 divided
// by -1, are errors. Float64 division follows IEEE-754 (5.0 / 0.0 is inf).
func (FilterBuilder) Div(a, b any) Expr { return newBinary(opDiv, a, b) }

// Mod returns the remainder of a / b, typed as [FilterBuilder.Div]. The
// result has the sign of a (Rust's %): -7 mod 2 is -1. For Float64 it is
// fmod: x mod 0.0 is NaN, x mod inf is x.
func (FilterBuilder) Mod(a, b any) Expr { return newBinary(opMod, a, b) }

// Neg returns -x for an Int64 (the minimum Int64 is an error) or a Float64
// (which flips the sign, so Neg(0.0) is -0.0); anything else is an error.
func (FilterBuilder) Neg(x any) Expr { return &negExpr{x: toExpr(x)} }

// And is true when every operand is true. Operands are evaluated in order
// and evaluation stops at the first false one; each evaluated operand must
// be a Boolean. And() with no operands is true.
func (FilterBuilder) And(xs ...any) Expr { return newLogic(true, xs) }

// Or is true when some operand is true. Operands are evaluated in order
// and evaluation stops at the first true one; each evaluated operand must
// be a Boolean. Or() with no operands is false.
func (FilterBuilder) Or(xs ...any) Expr { return newLogic(false, xs) }

// Not negates a Boolean; any other value is an error.
func (FilterBuilder) Not(x any) Expr { return &notExpr{x: toExpr(x)} }

// evalFilter runs a filter against a document. The result must be a
// Boolean; any other value is an *EvalError "Cannot use value <v> (type
// <t>) as a Boolean", as in Convex, so a missing Boolean field is an error
// rather than a non-match.
func evalFilter(e Expr, doc map[string]any) (bool, error) {
	if e == nil {
		return false, &EvalError{Message: "nil filter expression"}
	}
	x, err := e.eval(doc)
	if err != nil {
		return false, err
	}
	return asBoolean(x)
}

// asBoolean is Convex's MaybeValue::into_boolean.
func asBoolean(x any) (bool, error) {
	if b, ok := x.(bool); ok {
		return b, nil
	}
	return false, evalErrorf("Cannot use value %s (type %s) as a Boolean", value.Format(x), typeName(x))
}

// typeName returns Convex's name of the type of a value: Null, Int64,
// Float64, Boolean, String, Bytes, Array, Object or undefined.
func typeName(x any) string {
	k, ok := value.KindOf(x)
	if !ok {
		return fmt.Sprintf("%T", x) // not reached: eval returns canonical values
	}
	return k.String()
}

// toExpr takes an operand: an Expr as it is, anything else as a literal.
func toExpr(x any) Expr {
	if e, ok := x.(Expr); ok {
		return e
	}
	return newLiteral(x)
}

// ---- field ----

// fieldExpr reads a field path. A bad path keeps its error and fails at
// evaluation.
type fieldExpr struct {
	path  string   // canonical "a.b", or the raw path when err != nil
	parts []string // the identifiers of the path
	err   *EvalError
}

func newField(path string) *fieldExpr {
	trimmed := strings.Trim(path, ".")
	if trimmed == "" {
		return &fieldExpr{path: path, err: evalErrorf("invalid field path %q: Empty path", path)}
	}
	parts := strings.Split(trimmed, ".")
	for _, p := range parts {
		if err := value.CheckIdentifier(p); err != nil {
			return &fieldExpr{path: path, err: &EvalError{
				Message: fmt.Sprintf("invalid field path %q: %s", path, err.Error()),
				Err:     err,
			}}
		}
	}
	return &fieldExpr{path: trimmed, parts: parts}
}

func (e *fieldExpr) eval(doc map[string]any) (any, error) {
	if e.err != nil {
		return nil, e.err
	}
	var cur any = doc
	for _, p := range e.parts {
		obj, ok := cur.(map[string]any)
		if !ok {
			return value.Undefined, nil
		}
		if cur, ok = obj[p]; !ok {
			return value.Undefined, nil
		}
	}
	if value.IsUndefined(cur) {
		return value.Undefined, nil
	}
	return cur, nil
}

func (e *fieldExpr) String() string { return jsonString(e) }

func (e *fieldExpr) writeJSON(b *strings.Builder) {
	b.WriteString(`{"$field":`)
	writeJSONString(b, e.path)
	b.WriteByte('}')
}

// ---- literal ----

// literalExpr is a constant. A Go value that is not a Convex value keeps
// its error and fails at evaluation.
type literalExpr struct {
	v   any // canonical value or value.Undefined
	err *EvalError
}

func newLiteral(x any) *literalExpr {
	if value.IsUndefined(x) {
		return &literalExpr{v: value.Undefined}
	}
	n, err := value.Normalize(x)
	if err == nil {
		err = value.CheckValue(n)
	}
	if err != nil {
		return &literalExpr{err: &EvalError{
			Message: "invalid literal: " + err.Error(),
			Err:     err,
		}}
	}
	return &literalExpr{v: n}
}

func (e *literalExpr) eval(map[string]any) (any, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.v, nil
}

func (e *literalExpr) String() string { return jsonString(e) }

func (e *literalExpr) writeJSON(b *strings.Builder) {
	if e.err != nil {
		b.WriteString(`{"$invalidLiteral":`)
		writeJSONString(b, e.err.Message)
		b.WriteByte('}')
		return
	}
	b.WriteString(`{"$literal":`)
	writeConvexJSON(b, e.v)
	b.WriteByte('}')
}

// ---- binary operators ----

type binaryOp uint8

const (
	opEq binaryOp = iota
	opNeq
	opLt
	opLte
	opGt
	opGte
	opAdd
	opSub
	opMul
	opDiv
	opMod
)

// binaryOps holds each operator's JSON key and, for arithmetic, the verb of
// Convex's error messages.
var binaryOps = [...]struct{ key, verb string }{
	opEq:  {"$eq", ""},
	opNeq: {"$neq", ""},
	opLt:  {"$lt", ""},
	opLte: {"$lte", ""},
	opGt:  {"$gt", ""},
	opGte: {"$gte", ""},
	opAdd: {"$add", "add"},
	opSub: {"$sub", "subtract"},
	opMul: {"$mul", "multiply"},
	opDiv: {"$div", "divide"},
	opMod: {"$mod", "mod"},
}

type binaryExpr struct {
	op   binaryOp
	l, r Expr
}

func newBinary(op binaryOp, a, b any) *binaryExpr {
	return &binaryExpr{op: op, l: toExpr(a), r: toExpr(b)}
}

func (e *binaryExpr) eval(doc map[string]any) (any, error) {
	// Both sides are evaluated, left first, before any check, as Convex does.
	l, err := e.l.eval(doc)
	if err != nil {
		return nil, err
	}
	r, err := e.r.eval(doc)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case opEq:
		return value.Compare(l, r) == 0, nil
	case opNeq:
		return value.Compare(l, r) != 0, nil
	case opLt:
		return value.Compare(l, r) < 0, nil
	case opLte:
		return value.Compare(l, r) <= 0, nil
	case opGt:
		return value.Compare(l, r) > 0, nil
	case opGte:
		return value.Compare(l, r) >= 0, nil
	}
	return e.arithmetic(l, r)
}

// arithmetic applies an arithmetic operator: Int64 with Int64 (checked) or
// Float64 with Float64 (IEEE-754).
func (e *binaryExpr) arithmetic(l, r any) (any, error) {
	switch x := l.(type) {
	case int64:
		if y, ok := r.(int64); ok {
			return e.ints(x, y)
		}
	case float64:
		if y, ok := r.(float64); ok {
			return floats(e.op, x, y), nil
		}
	}
	return nil, evalErrorf("Cannot %s %s (type %s) and %s (type %s)",
		binaryOps[e.op].verb, value.Format(l), typeName(l), value.Format(r), typeName(r))
}

// ints applies an arithmetic operator to two Int64s. Convex's backend is
// built with overflow checks, so an overflow (or a division by zero) stops
// the evaluation; livedb reports it as an *EvalError.
func (e *binaryExpr) ints(x, y int64) (any, error) {
	var res int64
	overflow := false
	switch e.op {
	case opAdd:
		res = x + y
		overflow = (x^res)&(y^res) < 0
	case opSub:
		res = x - y
		overflow = (x^y)&(x^res) < 0
	case opMul:
		res = x * y
		overflow = x != 0 && (res/x != y || (x == -1 && y == math.MinInt64))
	case opDiv, opMod:
		if y == 0 {
			return nil, evalErrorf("Cannot %s %d by zero", binaryOps[e.op].verb, x)
		}
		overflow = x == math.MinInt64 && y == -1
		if !overflow {
			if e.op == opDiv {
				res = x / y
			} else {
				res = x % y
			}
		}
	}
	if overflow {
		return nil, evalErrorf("Cannot %s %d and %d: the result is out of range for Int64", binaryOps[e.op].verb, x, y)
	}
	return res, nil
}

// floats applies an arithmetic operator to two Float64s with the hardware's
// IEEE-754 arithmetic, as Rust does.
func floats(op binaryOp, x, y float64) float64 {
	switch op {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	}
	return fmod(x, y)
}

// fmod is C's fmod, which Rust's % on f64 calls: the result has the sign of
// x and is exact. In the invalid cases (y zero, x infinite, a NaN operand)
// it computes the NaN as glibc does, (x*y)/(x*y), so that its bits (which
// decide where it sorts) are the hardware's, not math.Mod's fixed NaN.
func fmod(x, y float64) float64 {
	if y == 0 || math.IsInf(x, 0) || math.IsNaN(x) || math.IsNaN(y) {
		p := x * y
		return p / p
	}
	return math.Mod(x, y)
}

func (e *binaryExpr) String() string { return jsonString(e) }

func (e *binaryExpr) writeJSON(b *strings.Builder) {
	b.WriteString(`{"`)
	b.WriteString(binaryOps[e.op].key)
	b.WriteString(`":[`)
	writeExprJSON(b, e.l)
	b.WriteByte(',')
	writeExprJSON(b, e.r)
	b.WriteString("]}")
}

// ---- unary operators ----

type negExpr struct{ x Expr }

func (e *negExpr) eval(doc map[string]any) (any, error) {
	x, err := e.x.eval(doc)
	if err != nil {
		return nil, err
	}
	switch t := x.(type) {
	case int64:
		if t == math.MinInt64 {
			return nil, evalErrorf("Cannot negate %d: the result is out of range for Int64", t)
		}
		return -t, nil
	case float64:
		return -t, nil
	}
	return nil, evalErrorf("Cannot negate %s (type %s)", value.Format(x), typeName(x))
}

func (e *negExpr) String() string { return jsonString(e) }

func (e *negExpr) writeJSON(b *strings.Builder) {
	b.WriteString(`{"$neg":`)
	writeExprJSON(b, e.x)
	b.WriteByte('}')
}

type notExpr struct{ x Expr }

func (e *notExpr) eval(doc map[string]any) (any, error) {
	x, err := e.x.eval(doc)
	if err != nil {
		return nil, err
	}
	v, err := asBoolean(x)
	if err != nil {
		return nil, err
	}
	return !v, nil
}

func (e *notExpr) String() string { return jsonString(e) }

func (e *notExpr) writeJSON(b *strings.Builder) {
	b.WriteString(`{"$not":`)
	writeExprJSON(b, e.x)
	b.WriteByte('}')
}

// ---- and / or ----

// logicExpr is And (and == true) or Or.
type logicExpr struct {
	and bool
	xs  []Expr
}

func newLogic(and bool, xs []any) *logicExpr {
	es := make([]Expr, len(xs))
	for i, x := range xs {
		es[i] = toExpr(x)
	}
	return &logicExpr{and: and, xs: es}
}

func (e *logicExpr) eval(doc map[string]any) (any, error) {
	// And stops at the first false, Or at the first true: the value that
	// decides is !e.and.
	for _, x := range e.xs {
		v, err := x.eval(doc)
		if err != nil {
			return nil, err
		}
		b, err := asBoolean(v)
		if err != nil {
			return nil, err
		}
		if b != e.and {
			return b, nil
		}
	}
	return e.and, nil
}

func (e *logicExpr) String() string { return jsonString(e) }

func (e *logicExpr) writeJSON(b *strings.Builder) {
	if e.and {
		b.WriteString(`{"$and":[`)
	} else {
		b.WriteString(`{"$or":[`)
	}
	for i, x := range e.xs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeExprJSON(b, x)
	}
	b.WriteString("]}")
}

// ---- JSON form ----

// jsonWriter is implemented by every expression of this file.
type jsonWriter interface {
	writeJSON(b *strings.Builder)
}

// jsonString returns an expression's Convex JSON, its String form.
func jsonString(e interface{ writeJSON(*strings.Builder) }) string {
	var b strings.Builder
	e.writeJSON(&b)
	return b.String()
}

func writeExprJSON(b *strings.Builder, e Expr) {
	if w, ok := e.(jsonWriter); ok {
		w.writeJSON(b)
		return
	}
	b.WriteString(e.String()) // not reached: every Expr is a jsonWriter
}

// writeConvexJSON writes a canonical value (or Undefined) in Convex JSON
// (docs/semantics.md#convex-json), as the JS client's convexOrUndefinedToJson does, with object keys
// sorted.
func writeConvexJSON(b *strings.Builder, x any) {
	if value.IsUndefined(x) {
		b.WriteString(`{"$undefined":null}`)
		return
	}
	out, err := convexjson.Encode(x)
	if err != nil { // not reached: literals are canonical
		writeJSONString(b, err.Error())
		return
	}
	b.Write(out)
}

// writeJSONString writes s as a JSON string, escaped as JavaScript's
// JSON.stringify does.
func writeJSONString(b *strings.Builder, s string) {
	b.Write(convexjson.AppendString(nil, s))
}
