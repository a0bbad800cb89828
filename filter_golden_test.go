package livedb

// Golden-file tests of filter.go, and the small expression language their
// cases are written in. Most cases of filter.go are golden files in
// testdata/filter/*.txt; run `go test -run TestFilter_Golden -update` to
// rewrite their outputs (then review the diff). The format is described in
// testdata/filter/README.txt.

import (
	"encoding/base64"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

// updateFilter is the -update flag. It is the package's only -update flag:
// another golden test of package livedb should read it, not define its own.
var updateFilter = flag.Bool("update", false, "rewrite the outputs of golden files in testdata/")

// ---- golden files ----

func TestFilter_Golden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "filter", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files in testdata/filter")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runFilterGolden(t, file) })
	}
}

// filterCommands are the case commands of the golden files.
var filterCommands = []string{"eval", "filter", "string"}

func runFilterGolden(t *testing.T, file string) {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
	var out strings.Builder
	doc := map[string]any{}
	cases := 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		out.WriteString(line + "\n")
		cmd, arg, _ := strings.Cut(line, " ")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case cmd == "doc":
			d, err := parseFilterValue(arg)
			m, ok := d.(map[string]any)
			if err != nil || !ok {
				t.Fatalf("%s:%d: bad doc (%v): %s", file, i+1, err, arg)
			}
			doc = m
			continue
		case !isFilterCommand(cmd):
			t.Fatalf("%s:%d: unknown command %q", file, i+1, cmd)
		}
		cases++
		want, hasWant := "", false
		if i+1 < len(lines) && lines[i+1] == "----" {
			i++
			if i+1 < len(lines) && lines[i+1] != "" { // outputs are never empty
				i++
				want, hasWant = lines[i], true
			}
		}
		got := strings.ReplaceAll(runFilterCase(cmd, arg, doc), "\n", `\n`) // one line
		out.WriteString("----\n" + got + "\n")
		if !*updateFilter && (!hasWant || got != want) {
			t.Errorf("%s:%d: %s\n got: %s\nwant: %s", file, i+1, line, got, want)
		}
	}
	if cases == 0 {
		t.Errorf("%s: no cases", file)
	}
	if *updateFilter && out.String() != string(src) {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func isFilterCommand(cmd string) bool {
	for _, c := range filterCommands {
		if c == cmd {
			return true
		}
	}
	return false
}

// runFilterCase runs one golden case and returns its output line.
func runFilterCase(cmd, arg string, doc map[string]any) string {
	e, err := parseFilterExpr(arg)
	if err != nil {
		return "parse error: " + err.Error()
	}
	switch cmd {
	case "string":
		return e.String()
	case "filter":
		ok, err := evalFilter(e, doc)
		if err != nil {
			return "error: " + err.Error()
		}
		return strconv.FormatBool(ok)
	}
	x, err := e.eval(doc)
	if err != nil {
		return "error: " + err.Error()
	}
	return value.Format(x)
}

// ---- the expression language of the golden files ----

// filterParser reads the expression language of the golden files: an
// operator call (op arg ...), or a value written as value.Format prints it
// (null, 5, -0.0, NaN, inf, "s", b"AQID", [1, 2], {a: 1}, undefined), taken
// as a literal operand. (field PATH) takes a bare or quoted path, (literal
// V) calls Literal. Go values of other types are written #int(5),
// #uint64(5), #float32(1.5), #id("s"), #chan, #badutf8 and #negnan.
type filterParser struct {
	s   string
	pos int
}

func parseFilterExpr(s string) (Expr, error) {
	p := &filterParser{s: s}
	x, err := p.operand()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.pos != len(p.s) {
		return nil, p.errorf("trailing text")
	}
	return toExpr(x), nil
}

func parseFilterValue(s string) (any, error) {
	p := &filterParser{s: s}
	x, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.pos != len(p.s) {
		return nil, p.errorf("trailing text")
	}
	return x, nil
}

func (p *filterParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at %d of %q: %s", p.pos, p.s, fmt.Sprintf(format, args...))
}

func (p *filterParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *filterParser) peek() byte {
	p.skipSpace()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// word reads a bare token: everything up to a space or delimiter.
func (p *filterParser) word() string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" \t()[]{},:", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// operand reads an expression (an Expr) or a Go value.
func (p *filterParser) operand() (any, error) {
	if p.peek() != '(' {
		return p.value()
	}
	p.pos++
	op := p.word()
	var f FilterBuilder
	if op == "field" {
		path := ""
		if p.peek() == '"' {
			s, err := p.quoted()
			if err != nil {
				return nil, err
			}
			path = s
		} else {
			path = p.word()
		}
		return f.Field(path), p.expect(')')
	}
	var args []any
	for p.peek() != ')' {
		if p.pos >= len(p.s) {
			return nil, p.errorf("missing )")
		}
		a, err := p.operand()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.pos++
	return buildFilterOp(f, op, args)
}

func buildFilterOp(f FilterBuilder, op string, args []any) (Expr, error) {
	binary := map[string]func(a, b any) Expr{
		"eq": f.Eq, "neq": f.Neq, "lt": f.Lt, "lte": f.Lte, "gt": f.Gt, "gte": f.Gte,
		"add": f.Add, "sub": f.Sub, "mul": f.Mul, "div": f.Div, "mod": f.Mod,
	}
	unary := map[string]func(x any) Expr{"neg": f.Neg, "not": f.Not, "literal": f.Literal}
	switch {
	case binary[op] != nil:
		if len(args) != 2 {
			return nil, fmt.Errorf("%s takes 2 operands, got %d", op, len(args))
		}
		return binary[op](args[0], args[1]), nil
	case unary[op] != nil:
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes 1 operand, got %d", op, len(args))
		}
		return unary[op](args[0]), nil
	case op == "and":
		return f.And(args...), nil
	case op == "or":
		return f.Or(args...), nil
	}
	return nil, fmt.Errorf("unknown operator %q", op)
}

func (p *filterParser) expect(c byte) error {
	if p.peek() != c {
		return p.errorf("want %q", c)
	}
	p.pos++
	return nil
}

// value reads a value in value.Format's syntax, or a #Go value.
func (p *filterParser) value() (any, error) {
	switch c := p.peek(); c {
	case '"':
		return p.quoted()
	case '[':
		return p.array()
	case '{':
		return p.object()
	case '#':
		return p.goValue()
	case 0:
		return nil, p.errorf("missing value")
	}
	w := p.word()
	switch w {
	case "null":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "undefined":
		return value.Undefined, nil
	case "":
		return nil, p.errorf("unexpected %q", p.s[p.pos])
	}
	if strings.HasPrefix(w, "b\"") || w == "b" && p.pos < len(p.s) && p.s[p.pos] == '"' {
		p.pos -= len(w) - 1 // back to the quote
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(s)
	}
	if strings.ContainsAny(w, ".eE") || strings.Contains(w, "NaN") || strings.Contains(w, "inf") {
		return strconv.ParseFloat(w, 64)
	}
	return strconv.ParseInt(w, 10, 64)
}

// goValue reads the #-forms of Go values that are not canonical.
func (p *filterParser) goValue() (any, error) {
	p.pos++ // '#'
	name := p.word()
	arg := ""
	if p.pos < len(p.s) && p.s[p.pos] == '(' {
		end := strings.IndexByte(p.s[p.pos:], ')')
		if end < 0 {
			return nil, p.errorf("missing )")
		}
		arg = p.s[p.pos+1 : p.pos+end]
		p.pos += end + 1
	}
	switch name {
	case "int":
		n, err := strconv.Atoi(arg)
		return n, err
	case "uint64":
		return strconv.ParseUint(arg, 10, 64)
	case "float32":
		f, err := strconv.ParseFloat(arg, 32)
		return float32(f), err
	case "id":
		s, err := strconv.Unquote(arg)
		return value.ID(s), err
	case "chan":
		return make(chan int), nil
	case "badutf8":
		return "a\xffb", nil
	case "negnan":
		return math.Float64frombits(0xFFF8000000000000), nil
	}
	return nil, p.errorf("unknown Go value #%s", name)
}

// quoted reads a string quoted as Rust's Debug does (value.Format).
func (p *filterParser) quoted() (string, error) {
	if err := p.expect('"'); err != nil {
		return "", err
	}
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '"':
			return b.String(), nil
		case c != '\\':
			b.WriteByte(c)
		case p.pos >= len(p.s):
			return "", p.errorf("bad escape")
		default:
			e := p.s[p.pos]
			p.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '"', '\\':
				b.WriteByte(e)
			case 'u':
				end := strings.IndexByte(p.s[p.pos:], '}')
				if end < 0 || p.s[p.pos] != '{' {
					return "", p.errorf("bad \\u escape")
				}
				r, err := strconv.ParseUint(p.s[p.pos+1:p.pos+end], 16, 32)
				if err != nil {
					return "", err
				}
				b.WriteRune(rune(r))
				p.pos += end + 1
			default:
				return "", p.errorf("bad escape \\%c", e)
			}
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *filterParser) array() (any, error) {
	p.pos++ // '['
	out := []any{}
	for p.peek() != ']' {
		if len(out) > 0 {
			if err := p.expect(','); err != nil {
				return nil, err
			}
		}
		x, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	p.pos++
	return out, nil
}

func (p *filterParser) object() (any, error) {
	p.pos++ // '{'
	out := map[string]any{}
	for p.peek() != '}' {
		if len(out) > 0 {
			if err := p.expect(','); err != nil {
				return nil, err
			}
		}
		var key string
		if p.peek() == '"' {
			k, err := p.quoted()
			if err != nil {
				return nil, err
			}
			key = k
		} else {
			key = p.word()
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		x, err := p.value()
		if err != nil {
			return nil, err
		}
		out[key] = x
	}
	p.pos++
	return out, nil
}
