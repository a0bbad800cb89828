package snapfile_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/snapfile"
)

// line is a document read from a source, with its line.
type line struct {
	raw  string
	line int
}

// mustDrain reads src to its end, failing the test on an error.
func mustDrain(t *testing.T, src snapfile.Source) []line {
	t.Helper()
	var out []line
	for {
		raw, n, err := src.Next()
		if err != nil {
			t.Fatalf("Next after %d documents: %v (line %d)", len(out), err, n)
		}
		if raw == nil {
			return out
		}
		out = append(out, line{string(raw), n})
	}
}

func equalLines(a, b []line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLineSource_Next(t *testing.T) {
	in := "{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}" // CRLF, blank lines, no final newline
	src := snapfile.NewStreamSource("in", strings.NewReader(in), convexjson.Decode)
	defer src.Close()
	want := []line{{`{"a":1}`, 1}, {`{"b":2}`, 4}, {`{"c":3}`, 5}}
	if got := mustDrain(t, src); !equalLines(got, want) {
		t.Fatalf("lines = %+v, want %+v", got, want)
	}
	if raw, _, err := src.Next(); raw != nil || err != nil {
		t.Fatalf("Next after the end = %q, %v; want nil, nil", raw, err)
	}
	if src.Total() != -1 {
		t.Fatalf("Total of a stream = %d, want -1", src.Total())
	}
}

func TestLineSource_PeekTableNumber(t *testing.T) {
	docID := id.Encode(10005, [16]byte{1, 2, 3})
	in := "\n{\"_id\":\"" + docID + "\"}\n{}\n"
	src := snapfile.NewStreamSource("in", strings.NewReader(in), convexjson.Decode)
	if n := src.PeekTableNumber(); n != 10005 {
		t.Fatalf("PeekTableNumber = %d, want 10005", n)
	}
	got := mustDrain(t, src)
	if len(got) != 2 || got[0].line != 2 {
		t.Fatalf("after a peek, lines = %+v: the peeked document must still come first, at line 2", got)
	}
	if n := snapfile.NewStreamSource("in", strings.NewReader("{}\n"), nil).PeekTableNumber(); n != 0 {
		t.Fatalf("PeekTableNumber without an _id = %d, want 0", n)
	}
}

func TestLineSource_Total(t *testing.T) {
	data := []byte("{}\n\n{}\n{}")
	opens := 0
	open := func() (io.ReadCloser, error) { opens++; return io.NopCloser(bytes.NewReader(data)), nil }
	src := snapfile.NewLineSource("in", open, nil)
	if src.Total() != -1 || opens != 0 {
		t.Fatalf("Total of a source that cannot be reopened = %d after %d opens, want -1 without opening", src.Total(), opens)
	}
	src.Reopenable = true
	if n := src.Total(); n != 3 {
		t.Fatalf("Total = %d, want 3 (blank lines do not count)", n)
	}
	if got := mustDrain(t, src); len(got) != 3 {
		t.Fatalf("read %d documents after Total, want 3", len(got))
	}
}

func TestLineSource_OpenError(t *testing.T) {
	boom := errors.New("boom")
	src := snapfile.NewLineSource("in", func() (io.ReadCloser, error) { return nil, boom }, nil)
	for range 2 {
		if _, _, err := src.Next(); !errors.Is(err, boom) {
			t.Fatalf("Next = %v, want the open error, every time", err)
		}
	}
}

func TestArraySource_Next(t *testing.T) {
	in := "[\n  {\"a\": 1},\n\n  {\"b\": [1,\n 2]}, {\"c\": 3}\n]\n"
	src, err := snapfile.NewArraySource(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []line{{`{"a": 1}`, 2}, {"{\"b\": [1,\n 2]}", 4}, {`{"c": 3}`, 5}}
	if got := mustDrain(t, src); !equalLines(got, want) {
		t.Fatalf("elements = %+v, want %+v", got, want)
	}
}

func TestArraySource_Errors(t *testing.T) {
	tests := []struct {
		name, in string
		atOpen   bool
		want     string
		line     int
	}{
		{"not an array", `{"a":1}`, true, "want a JSON array", 1},
		{"empty", ``, true, "want a JSON array", 1},
		{"data after the array", "[{}]\n\n[]", false, "data after the JSON array", 3},
		{"unterminated", "[{},\n{}", false, "", 2},
		{"bad element", "[{},\n{]", false, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := snapfile.NewArraySource(strings.NewReader(tc.in))
			if tc.atOpen {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("NewArraySource = %v, want %q", err, tc.want)
				}
			} else if err != nil {
				t.Fatalf("NewArraySource = %v", err)
			}
			for range 10 {
				raw, line, err := src.Next()
				if err != nil {
					if !strings.Contains(err.Error(), tc.want) || line != tc.line {
						t.Fatalf("Next = %v at line %d, want %q at line %d", err, line, tc.want, tc.line)
					}
					if _, again, err2 := src.Next(); err2 != err || again != line {
						t.Fatalf("second Next = %v at line %d, want the same error at the same line", err2, again)
					}
					return
				}
				if raw == nil {
					t.Fatal("the source ended without an error")
				}
			}
			t.Fatal("no error after 10 elements")
		})
	}
}

// zipOf returns a ZIP of name-content pairs.
func zipOf(t *testing.T, files ...string) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestReadZip_Layout(t *testing.T) {
	zr := zipOf(t,
		"snap/README.md", "x",
		"snap/_tables/documents.jsonl", `{"name":"users","id":10002}`+"\n"+`{"name":"teams","id":10001}`+"\n",
		"snap/users/generated_schema.jsonl", `"uniform"`+"\n",
		"snap/users/documents.jsonl", `{"n":1}`+"\n",
		"snap/teams/documents.jsonl", `{"n":{"$integer":"AQAAAAAAAAA="}}`+"\n",
		"snap/_storage/documents.jsonl", "",
		"snap/schemaonly/generated_schema.jsonl", `"uniform"`,
		"snap/_livedb/schema.json", "{}",
	)
	tables, err := snapfile.ReadZip(zr)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zt := range tables {
		names = append(names, zt.Name)
	}
	if strings.Join(names, ",") != "_storage,teams,users" {
		t.Fatalf("tables = %v, want _storage, teams, users (with documents, by name)", names)
	}
	if tables[1].Number != 10001 || tables[2].Number != 10002 || tables[0].Number != 0 {
		t.Fatalf("numbers = %d, %d, %d; want 0, 10001, 10002", tables[0].Number, tables[1].Number, tables[2].Number)
	}
	// users is "uniform": export JSON, where 1 is an Int64; teams has no
	// generated schema: Convex-JSON, where an Int64 is {"$integer": ...}.
	for _, zt := range tables[1:] {
		src, err := zt.Source()
		if err != nil {
			t.Fatal(err)
		}
		if n := src.Total(); n != 1 {
			t.Fatalf("%s: Total = %d, want 1: a ZIP entry can be read twice", zt.Name, n)
		}
		raw, _, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		x, err := src.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n := x.(map[string]any)["n"]; n != int64(1) {
			t.Fatalf("%s: n = %#v, want int64 1", zt.Name, n)
		}
		src.Close()
	}
	if f := snapfile.FindSchema(zr); f == nil || f.Name != "snap/_livedb/schema.json" {
		t.Fatalf("FindSchema = %v", f)
	}
	if f := snapfile.FindSchema(zipOf(t, "a/documents.jsonl", "")); f != nil {
		t.Fatalf("FindSchema of a ZIP without one = %v, want nil", f.Name)
	}
}

func TestReadZip_Errors(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		file  string
		line  int
		want  string
	}{
		{"component", []string{"_components/c/t/documents.jsonl", "{}"}, "_components/c/t/documents.jsonl", 0, "components are not supported"},
		{"table twice", []string{"a/t/documents.jsonl", "{}", "b/t/documents.jsonl", "{}"}, "b/t/documents.jsonl", 0, `table "t" appears twice`},
		{"bad tables line", []string{"_tables/documents.jsonl", `{"name":"t","id":1}` + "\n" + `{"name":"u"}`, "t/documents.jsonl", "{}"}, "_tables/documents.jsonl", 2, `want {"name"`},
		{"tables line not JSON", []string{"_tables/documents.jsonl", "{", "t/documents.jsonl", "{}"}, "_tables/documents.jsonl", 1, "unexpected end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := snapfile.ReadZip(zipOf(t, tc.files...))
			var se *snapfile.Error
			if !errors.As(err, &se) || se.File != tc.file || se.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadZip = %v, want a *snapfile.Error at %s:%d containing %q", err, tc.file, tc.line, tc.want)
			}
		})
	}
}

func TestZipTable_Source_GeneratedSchema(t *testing.T) {
	for _, tc := range []struct{ schema, want string }{
		{`"inferred"`, `the generated schema is "inferred"`},
		{`{`, "want a JSON string"},
		{``, `the generated schema is ""`},
	} {
		tables, err := snapfile.ReadZip(zipOf(t, "t/generated_schema.jsonl", tc.schema, "t/documents.jsonl", "{}"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = tables[0].Source()
		var se *snapfile.Error
		if !errors.As(err, &se) || se.File != "t/generated_schema.jsonl" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("schema %q: Source = %v, want a *snapfile.Error naming the file with %q", tc.schema, err, tc.want)
		}
	}
}

func TestWriter_ReadBack(t *testing.T) {
	var buf bytes.Buffer
	modified := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	zw := snapfile.NewWriter(&buf, modified)
	steps := []func() error{
		func() error {
			return zw.File(snapfile.ReadmeFile, func(w *bufio.Writer) error { _, err := w.WriteString(snapfile.Readme); return err })
		},
		func() error {
			return zw.Tables([]snapfile.TableEntry{{Name: "teams", Number: 10001}, {Name: "users", Number: 10002}})
		},
		func() error { return zw.GeneratedSchema("users") },
		func() error {
			return zw.File("users/"+snapfile.DocumentsFile, func(w *bufio.Writer) error { _, err := w.WriteString(`{"n":1}` + "\n"); return err })
		},
		zw.Close,
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !f.Modified.Equal(modified) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, modified)
		}
	}
	tables, err := snapfile.ReadZip(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != "users" || tables[0].Number != 10002 || tables[0].Schema == nil {
		t.Fatalf("tables = %+v, want users, 10002, with its generated schema", tables)
	}
	src, err := tables[0].Source()
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDrain(t, src); len(got) != 1 || got[0].raw != `{"n":1}` {
		t.Fatalf("documents = %+v", got)
	}
}

func TestWriter_FillError(t *testing.T) {
	boom := errors.New("boom")
	zw := snapfile.NewWriter(io.Discard, time.Time{})
	err := zw.File("t/documents.jsonl", func(*bufio.Writer) error { return boom })
	var se *snapfile.Error
	if !errors.As(err, &se) || se.File != "t/documents.jsonl" || !errors.Is(err, boom) {
		t.Fatalf("File = %v, want a *snapfile.Error naming the entry and wrapping the cause", err)
	}
	if got := err.Error(); got != "t/documents.jsonl: boom" {
		t.Fatalf("Error() = %q", got)
	}
}
