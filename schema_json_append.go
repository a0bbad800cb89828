package livedb

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// appendSchemaExportJSON appends out as a json.Encoder with HTML escaping
// off writes it, without the Encoder's final newline. Every Open writes
// its schema this way to compare it with the stored one (schemaJSON), and
// in a fresh process encoding/json's reflection over these structs costs
// more than the writing; catalog_codec.go says more.
func appendSchemaExportJSON(dst []byte, out *schemaExportJSON) ([]byte, error) {
	var err error
	dst = append(dst, `{"tables":`...)
	if out.Tables == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range out.Tables {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendSchemaTableJSON(dst, &out.Tables[i]); err != nil {
				return nil, fmt.Errorf("table %q: %w", out.Tables[i].TableName, err)
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"schemaValidation":`...)
	dst = appendJSONBool(dst, out.SchemaValidation)
	return append(dst, '}'), nil
}

func appendSchemaTableJSON(dst []byte, t *schemaTableJSON) ([]byte, error) {
	var err error
	dst = append(dst, `{"tableName":`...)
	dst = appendJSONString(dst, t.TableName, false)
	dst = append(dst, `,"indexes":`...)
	dst = appendSchemaIndexesJSON(dst, t.Indexes)
	dst = append(dst, `,"stagedDbIndexes":`...)
	dst = appendSchemaIndexesJSON(dst, t.StagedDbIndexes)
	dst = append(dst, `,"searchIndexes":`...)
	if t.SearchIndexes == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, s := range t.SearchIndexes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"indexDescriptor":`...)
			dst = appendJSONStringPtr(dst, s.IndexDescriptor)
			dst = append(dst, `,"searchField":`...)
			dst = appendJSONStringPtr(dst, s.SearchField)
			dst = append(dst, `,"filterFields":`...)
			dst = appendJSONStringListPtr(dst, s.FilterFields)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	for _, l := range [...]struct {
		name string
		list []json.RawMessage
	}{{"stagedSearchIndexes", t.StagedSearchIndexes}, {"vectorIndexes", t.VectorIndexes}, {"stagedVectorIndexes", t.StagedVectorIndexes}} {
		dst = append(dst, `,"`...)
		dst = append(dst, l.name...)
		dst = append(dst, `":`...)
		if l.list == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for i, raw := range l.list {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSONRawUnescaped(dst, raw); err != nil {
				return nil, fmt.Errorf("%s: %w", l.name, err)
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"documentType":`...)
	if dst, err = appendJSONRawUnescaped(dst, t.DocumentType); err != nil {
		return nil, fmt.Errorf("documentType: %w", err)
	}
	return append(dst, '}'), nil
}

func appendSchemaIndexesJSON(dst []byte, ixs []schemaIndexJSON) []byte {
	if ixs == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, ix := range ixs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"indexDescriptor":`...)
		dst = appendJSONStringPtr(dst, ix.IndexDescriptor)
		dst = append(dst, `,"fields":`...)
		dst = appendJSONStringListPtr(dst, ix.Fields)
		if ix.Unique {
			dst = append(dst, `,"unique":true`...)
		}
		if ix.Aggregate {
			dst = append(dst, `,"aggregate":true`...)
		}
		if len(ix.Sums) > 0 {
			dst = append(dst, `,"sums":`...)
			dst = appendJSONStringList(dst, ix.Sums, false)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendJSONBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendJSONStringPtr appends *s unescaped for HTML, or null.
func appendJSONStringPtr(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, *s, false)
}

// appendJSONStringListPtr appends *ss unescaped for HTML, or null for a
// nil pointer or list.
func appendJSONStringListPtr(dst []byte, ss *[]string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	return appendJSONStringList(dst, *ss, false)
}

// appendJSONStringList appends ss (null when nil) as encoding/json writes
// a []string.
func appendJSONStringList(dst []byte, ss []string, escapeHTML bool) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s, escapeHTML)
	}
	return append(dst, ']')
}

// appendJSONRawUnescaped appends raw as an Encoder without HTML escaping
// writes a json.RawMessage: null when nil, else compacted; invalid JSON
// (an empty one too) is an error.
func appendJSONRawUnescaped(dst []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return append(dst, "null"...), nil
	}
	if isCompactJSON(raw) {
		return append(dst, raw...), nil // as Compact gives it back (catalog_fast.go)
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
