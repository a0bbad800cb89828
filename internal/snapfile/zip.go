package snapfile

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/convexjson"
)

// ZipTable is the directory of one table in a snapshot ZIP.
type ZipTable struct {
	// Name is the directory's name: the table's. It is not checked; a
	// name starting with "_" is a system table of Convex (_storage, ...).
	Name string
	// Number is the table number _tables/documents.jsonl gives it, or 0.
	Number uint32
	// Docs is its documents.jsonl.
	Docs *zip.File
	// Schema is its generated_schema.jsonl, or nil.
	Schema *zip.File
}

// ReadZip returns the tables of a snapshot ZIP that have documents, in name
// order, with the numbers _tables/documents.jsonl gives them (a ZIP without
// that file gives none). Other files are ignored (README.md,
// _livedb/schema.json, the files of _storage). A component
// (".../_components/...") and a table directory that appears twice are
// errors.
func ReadZip(zr *zip.Reader) ([]ZipTable, error) {
	dirs := map[string]*ZipTable{}
	var tablesFile *zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		dir, base := path.Split(f.Name)
		prefix, table := path.Split(strings.TrimSuffix(dir, "/"))
		if table == "" || base != DocumentsFile && base != GeneratedSchemaFile {
			continue
		}
		if strings.Contains("/"+prefix, "/_components/") {
			return nil, &Error{File: f.Name, Err: errors.New("components are not supported")}
		}
		if table == "_tables" && base == DocumentsFile {
			tablesFile = f
			continue
		}
		zt := dirs[table]
		if zt == nil {
			zt = &ZipTable{Name: table}
			dirs[table] = zt
		}
		if base == DocumentsFile {
			if zt.Docs != nil {
				return nil, &Error{File: f.Name, Table: table, Err: fmt.Errorf("table %q appears twice (also in %s)", table, zt.Docs.Name)}
			}
			zt.Docs = f
		} else {
			zt.Schema = f
		}
	}
	numbers, err := readTableNumbers(tablesFile)
	if err != nil {
		return nil, err
	}
	var tables []ZipTable
	for _, zt := range dirs {
		if zt.Docs != nil {
			zt.Number = numbers[zt.Name]
			tables = append(tables, *zt)
		}
	}
	slices.SortFunc(tables, func(a, b ZipTable) int { return strings.Compare(a.Name, b.Name) })
	return tables, nil
}

// readTableNumbers reads _tables/documents.jsonl: {"name":..,"id":..} per
// line. A ZIP without it gives no numbers.
func readTableNumbers(f *zip.File) (map[string]uint32, error) {
	numbers := map[string]uint32{}
	if f == nil {
		return numbers, nil
	}
	src := NewLineSource(f.Name, f.Open, nil)
	defer src.Close()
	for {
		raw, line, err := src.Next()
		if err != nil {
			return nil, &Error{File: f.Name, Line: line, Err: err}
		}
		if raw == nil {
			return numbers, nil
		}
		var e struct {
			Name *string `json:"name"`
			ID   *uint32 `json:"id"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Name == nil || e.ID == nil || *e.ID == 0 {
			if err == nil {
				err = errors.New(`want {"name": <table>, "id": <table number>}`)
			}
			return nil, &Error{File: f.Name, Line: line, Err: err}
		}
		numbers[*e.Name] = *e.ID
	}
}

// Source returns the source of the table's documents, decoded as its
// generated_schema.jsonl says (export JSON for "uniform"; Convex-JSON when
// the file is missing). Another generated schema is an error.
func (t ZipTable) Source() (*LineSource, error) {
	dec, err := decoder(t.Schema)
	if err != nil {
		return nil, err
	}
	src := NewLineSource(t.Docs.Name, t.Docs.Open, dec)
	src.Reopenable = true
	return src, nil
}

// decoder returns the value decoder that a table's generated_schema.jsonl
// calls for.
func decoder(f *zip.File) (func([]byte) (any, error), error) {
	if f == nil {
		return convexjson.Decode, nil
	}
	src := NewLineSource(f.Name, f.Open, nil)
	defer src.Close()
	raw, line, err := src.Next()
	if err != nil {
		return nil, &Error{File: f.Name, Line: line, Err: err}
	}
	var shape string
	if raw != nil {
		if err := json.Unmarshal(raw, &shape); err != nil {
			return nil, &Error{File: f.Name, Line: line, Err: fmt.Errorf("want a JSON string: %w", err)}
		}
	}
	if shape != Uniform {
		return nil, &Error{File: f.Name, Line: line,
			Err: fmt.Errorf("the generated schema is %q: only %q is supported (an inferred shape from an older Convex export is not; export again with a current Convex)", shape, Uniform)}
	}
	return convexjson.DecodeExport, nil
}

// FindSchema returns the _livedb/schema.json entry of zr (under any
// prefix), or nil.
func FindSchema(zr *zip.Reader) *zip.File {
	for _, f := range zr.File {
		if f.Name == SchemaFile || strings.HasSuffix(f.Name, "/"+SchemaFile) {
			return f
		}
	}
	return nil
}
