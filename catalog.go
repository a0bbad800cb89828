package livedb

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// catalog is the stored description of the database: which tables exist,
// their numbers, and which indexes (with their ids) each has. It is
// immutable once published through DB.cat; a change builds a new one.
//
// Table numbers start at 10001 like Convex's user tables and are never
// reused, so an ID stays valid for as long as the file lives. Index ids start
// at 1 and are never reused either.
type catalog struct {
	tables    map[string]*tableInfo
	byNumber  map[uint32]*tableInfo
	nextTable uint32
	nextIndex uint32
	schema    *Schema // the schema the catalog was last opened with
	// schemaJSON is nil or schema's stored form (schemaJSON): the bytes
	// read from the file, kept so that an Open with the same schema
	// neither parses them nor marshals the schema twice.
	schemaJSON json.RawMessage
	secret     []byte    // signs cursors, so an altered cursor is refused
	cmac       *cmacCell // the cursors' AES-CMAC key of secret, made on first use (cursor_mac.go); shared by copies
	// gen counts the catalog's stored versions: it is stored with the last
	// commit timestamp, so a snapshot knows which catalog it holds.
	gen uint64
}

// tableInfo describes one table.
type tableInfo struct {
	name      string
	number    uint32
	validator v.Validator // nil when the table is not in the schema or validation is off
	byID      *indexInfo
	byTime    *indexInfo
	indexes   []*indexInfo  // every index: by_id, by_creation_time, then user indexes in definition order
	search    []*searchInfo // text search indexes, in definition order (search_index.go)
}

// indexInfo describes one index of a table.
type indexInfo struct {
	id      uint32
	name    string
	fields  []string   // user field paths, dotted; nil for the built-ins
	paths   [][]string // fields split at dots
	columns []string   // the key's columns as Convex prints them: fields, _creationTime, _id
	prefix  []byte     // indexPrefix(id)
	table   *tableInfo
	unique  bool        // no two documents share the values of fields (unique.go)
	agg     *aggInfo    // the counts and sums the index keeps, or nil (aggregate.go)
	vec     *vectorSpec // non-nil for a vector index (vector.go)
}

const (
	indexByID           = "by_id"
	indexByCreationTime = "by_creation_time"
	firstUserTable      = 10001
	// catalogVersion is the format of the file. Version 2: index entries
	// hold no value, the last commit's record holds the catalog
	// generation. Version 3: a change record holds a document's old
	// version only, the new one is found in the store or the document's
	// next change (changerec.go). Version 4: the _id column of every
	// index key (by_id's too) is the 16-byte internal id (idkey.go), and
	// on bbolt each index's keys are in a bucket of their own
	// (internal/kv/bboltkv/segments.go). Version 5: change records and
	// later-change keys hold a document's internal id, not the text of
	// its _id (changerec.go). Version 6: on bbolt an index's keys are
	// in buckets named for their first 6 bytes (tag, index id, the type
	// tag of the first column), which store them without those bytes
	// (internal/kv/bboltkv/segkeys.go); a document is stored without its
	// _id, which its by_id key gives, and with its _creationTime as 8
	// bytes in front of its fields (value.EncodeStoredDocument); a
	// commit's change records are packed into pieces, one key per piece,
	// not one per record (changerec.go). A file of another version is
	// refused (ErrNotLivedb).
	catalogVersion = 6
)

func (t *tableInfo) index(name string) (*indexInfo, bool) {
	for _, ix := range t.indexes {
		if ix.name == name {
			return ix, true
		}
	}
	return nil, false
}

// userIndexes returns the indexes other than the two built-ins.
func (t *tableInfo) userIndexes() []*indexInfo { return t.indexes[2:] }

func newIndexInfo(t *tableInfo, id uint32, name string, fields []string) *indexInfo {
	ix := &indexInfo{id: id, name: name, fields: fields, prefix: indexPrefix(id), table: t}
	for _, f := range fields {
		ix.paths = append(ix.paths, strings.Split(f, "."))
	}
	switch name {
	case indexByID:
		ix.columns = []string{fieldID}
	case indexByCreationTime:
		ix.columns = []string{fieldCreationTime, fieldID}
	default:
		ix.columns = append(slices.Clone(fields), fieldCreationTime, fieldID)
	}
	return ix
}

// fieldNames returns a copy of the index's full key columns as Convex
// prints them.
func (ix *indexInfo) fieldNames() []string { return slices.Clone(ix.columns) }

// clone returns a deep copy of c that can be changed and published.
func (c *catalog) clone() *catalog {
	out := &catalog{
		tables:     make(map[string]*tableInfo, len(c.tables)),
		byNumber:   make(map[uint32]*tableInfo, len(c.tables)),
		nextTable:  c.nextTable,
		nextIndex:  c.nextIndex,
		schema:     c.schema,
		schemaJSON: c.schemaJSON,
		secret:     c.secret,
		cmac:       c.cmac, // the same secret, so the same key
		gen:        c.gen,
	}
	for _, t := range c.tables {
		nt := t.renumbered(t.number)
		out.tables[nt.name] = nt
		out.byNumber[nt.number] = nt
	}
	return out
}

// with returns a copy of c in which tables (new, or replacing the table of
// the same name) are listed; c is unchanged. The copy shares c's other
// tables, which are immutable, so a table read before the change is the
// same *tableInfo after it.
func (c *catalog) with(tables ...*tableInfo) *catalog {
	out := *c
	out.tables = maps.Clone(c.tables)
	out.byNumber = maps.Clone(c.byNumber)
	for _, t := range tables {
		if prev, ok := out.tables[t.name]; ok && out.byNumber[prev.number] == prev {
			delete(out.byNumber, prev.number)
		}
		out.tables[t.name] = t
		out.byNumber[t.number] = t
		out.nextTable = max(out.nextTable, t.number+1)
		for _, ix := range t.indexes {
			out.nextIndex = max(out.nextIndex, ix.id+1)
		}
		for _, si := range t.search {
			out.nextIndex = max(out.nextIndex, si.id+1)
		}
	}
	return &out
}

// newTableInfo returns a table with its two built-in indexes, with the
// given number and index ids.
func newTableInfo(name string, number, byID, byTime uint32) *tableInfo {
	t := &tableInfo{name: name, number: number}
	t.byID = newIndexInfo(t, byID, indexByID, nil)
	t.byTime = newIndexInfo(t, byTime, indexByCreationTime, nil)
	t.indexes = []*indexInfo{t.byID, t.byTime}
	return t
}

// renumbered returns a copy of t with number n and the same indexes.
func (t *tableInfo) renumbered(n uint32) *tableInfo {
	nt := &tableInfo{name: t.name, number: n, validator: t.validator}
	for _, ix := range t.indexes {
		nix := newIndexInfo(nt, ix.id, ix.name, ix.fields).withVector(ix.vec)
		nix.unique, nix.agg = ix.unique, ix.agg
		nt.indexes = append(nt.indexes, nix)
	}
	nt.byID, nt.byTime = nt.indexes[0], nt.indexes[1]
	for _, si := range t.search {
		nt.search = append(nt.search, newSearchInfo(nt, si.id, si.def))
	}
	return nt
}

// newCatalog returns the catalog of an empty database.
func newCatalog() *catalog {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	return &catalog{tables: map[string]*tableInfo{}, byNumber: map[uint32]*tableInfo{}, nextTable: firstUserTable, nextIndex: 1, secret: secret, cmac: new(cmacCell)}
}

// addTable creates a table with its two built-in indexes.
func (c *catalog) addTable(name string) *tableInfo {
	t := newTableInfo(name, c.nextTable, c.allocIndex(), c.allocIndex())
	c.nextTable++
	c.tables[name] = t
	c.byNumber[t.number] = t
	return t
}

func (c *catalog) allocIndex() uint32 {
	id := c.nextIndex
	c.nextIndex++
	return id
}

// validate checks a catalog read from a file: names valid and unique,
// table numbers and index ids unique and below the next ones to hand out.
func (c *catalog) validate() error {
	ids := map[uint32]bool{}
	for _, t := range c.tables {
		if err := checkTableNameOrSystem(t.name); err != nil {
			return fmt.Errorf("table %q: %w", t.name, err)
		}
		if st, ok := systemTables[t.name]; ok {
			if t.number != st.number {
				return fmt.Errorf("system table %q has number %d, not %d", t.name, t.number, st.number)
			}
		} else if t.number < firstUserTable || t.number >= c.nextTable {
			return fmt.Errorf("table %q has number %d outside [%d, %d)", t.name, t.number, firstUserTable, c.nextTable)
		}
		names := map[string]bool{}
		for _, ix := range t.indexes {
			if ix.id == 0 || ix.id >= c.nextIndex || ids[ix.id] {
				return fmt.Errorf("table %q index %q has a bad or repeated id %d", t.name, ix.name, ix.id)
			}
			if names[ix.name] {
				return fmt.Errorf("table %q has two indexes named %q", t.name, ix.name)
			}
			ids[ix.id], names[ix.name] = true, true
			if ix.agg != nil {
				if ix.agg.id == 0 || ix.agg.id >= c.nextIndex || ids[ix.agg.id] {
					return fmt.Errorf("table %q index %q has a bad or repeated aggregate id %d", t.name, ix.name, ix.agg.id)
				}
				ids[ix.agg.id] = true
			}
			for _, p := range ix.paths {
				for _, part := range p {
					if err := value.CheckIdentifier(part); err != nil {
						return fmt.Errorf("table %q index %q: %w", t.name, ix.name, err)
					}
				}
			}
		}
		if err := validateSearch(c, t, ids, names); err != nil {
			return err
		}
	}
	return nil
}

// tableName resolves a table number for conform.
func (c *catalog) tableName(n uint32) (string, bool) {
	t, ok := c.byNumber[n]
	if !ok {
		return "", false
	}
	return t.name, true
}

// catalogJSON is the stored form of a catalog.
type catalogJSON struct {
	Version   int             `json:"version"`
	NextTable uint32          `json:"nextTable"`
	NextIndex uint32          `json:"nextIndex"`
	Secret    []byte          `json:"secret"`
	Schema    json.RawMessage `json:"schema,omitempty"`
	Tables    []tableJSON     `json:"tables"`
}

type tableJSON struct {
	Name    string       `json:"name"`
	Number  uint32       `json:"number"`
	Indexes []indexJSON  `json:"indexes"`
	Search  []searchJSON `json:"search,omitempty"`
}

type indexJSON struct {
	Name   string   `json:"name"`
	ID     uint32   `json:"id"`
	Fields []string `json:"fields,omitempty"`
	Unique bool     `json:"unique,omitempty"`
	// AggID is the id under which the index's aggregate rows are stored
	// (aggregate.go), 0 when it keeps none; Sums are the summed fields.
	AggID uint32   `json:"aggregate,omitempty"`
	Sums  []string `json:"sums,omitempty"`
	// VectorField and Dimensions are set for a vector index, whose Fields
	// are its filter fields.
	VectorField string `json:"vectorField,omitempty"`
	Dimensions  int    `json:"dimensions,omitempty"`
}

func (c *catalog) marshal() ([]byte, error) {
	cj := catalogJSON{Version: catalogVersion, NextTable: c.nextTable, NextIndex: c.nextIndex, Secret: c.secret, Schema: c.schemaJSON}
	if c.schema != nil && c.schemaJSON == nil {
		b, err := schemaJSON(c.schema)
		if err != nil {
			return nil, err
		}
		cj.Schema = b
	}
	for _, t := range c.tables {
		tj := tableJSON{Name: t.name, Number: t.number}
		for _, ix := range t.indexes {
			ij := indexJSON{Name: ix.name, ID: ix.id, Fields: ix.fields, Unique: ix.unique}
			if ix.agg != nil {
				ij.AggID, ij.Sums = ix.agg.id, ix.agg.sums
			}
			if ix.vec != nil {
				ij.VectorField, ij.Dimensions = ix.vec.field, ix.vec.dims
			}
			tj.Indexes = append(tj.Indexes, ij)
		}
		tj.Search = searchJSONs(t)
		cj.Tables = append(cj.Tables, tj)
	}
	slices.SortFunc(cj.Tables, func(a, b tableJSON) int { return int(a.Number) - int(b.Number) })
	// One buffer of about the catalog's size, not a doubling from 8 bytes:
	// in a fresh process each new size class is a new span and a page
	// fault (W7).
	size := 128 + len(cj.Schema)
	for _, tj := range cj.Tables {
		size += 64 + 96*len(tj.Indexes)
	}
	return appendCatalogJSON(make([]byte, 0, size), &cj) // json.Marshal's bytes (catalog_codec.go)
}

// unmarshalCatalog reads a stored catalog. Its schema is kept as stored
// JSON (schemaJSON), for DB.resolveSchema; validators are attached later,
// from the schema the database is opened with.
func unmarshalCatalog(b []byte) (*catalog, error) {
	var cj catalogJSON
	if !decodeCatalogCanonical(b, &cj) { // the form livedb writes, without encoding/json (catalog_fast.go)
		cj = catalogJSON{}
		if err := decodeCatalogJSON(b, &cj); err != nil { // as json.Unmarshal (catalog_codec.go)
			return nil, fmt.Errorf("%w: catalog: %w", ErrNotLivedb, err)
		}
	}
	if cj.Version != catalogVersion {
		return nil, fmt.Errorf("%w: catalog version %d, this livedb reads version %d", ErrNotLivedb, cj.Version, catalogVersion)
	}
	if len(cj.Secret) < 16 {
		return nil, fmt.Errorf("%w: catalog lacks its cursor secret", ErrNotLivedb)
	}
	c := &catalog{tables: map[string]*tableInfo{}, byNumber: map[uint32]*tableInfo{}, nextTable: cj.NextTable, nextIndex: cj.NextIndex, secret: cj.Secret, cmac: new(cmacCell)}
	for _, tj := range cj.Tables {
		if len(tj.Indexes) < 2 || tj.Indexes[0].Name != indexByID || tj.Indexes[1].Name != indexByCreationTime {
			return nil, fmt.Errorf("%w: catalog: table %q lacks its built-in indexes", ErrNotLivedb, tj.Name)
		}
		if _, dup := c.tables[tj.Name]; dup {
			return nil, fmt.Errorf("%w: catalog: table %q listed twice", ErrNotLivedb, tj.Name)
		}
		if other, dup := c.byNumber[tj.Number]; dup {
			return nil, fmt.Errorf("%w: catalog: tables %q and %q share number %d", ErrNotLivedb, other.name, tj.Name, tj.Number)
		}
		t := &tableInfo{name: tj.Name, number: tj.Number}
		for _, ij := range tj.Indexes {
			var spec *vectorSpec
			if ij.VectorField != "" {
				spec = newVectorSpec(ij.VectorField, ij.Dimensions)
			}
			ix := newIndexInfo(t, ij.ID, ij.Name, ij.Fields).withVector(spec)
			ix.unique = ij.Unique
			if ij.AggID != 0 {
				ix.agg = newAggInfo(ij.AggID, ij.Sums)
			}
			t.indexes = append(t.indexes, ix)
		}
		t.byID, t.byTime = t.indexes[0], t.indexes[1]
		for _, sj := range tj.Search {
			t.search = append(t.search, newSearchInfo(t, sj.ID, sj.definition()))
		}
		c.tables[t.name] = t
		c.byNumber[t.number] = t
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: catalog: %w", ErrNotLivedb, err)
	}
	if len(cj.Schema) > 0 {
		c.schemaJSON = cj.Schema
	}
	return c, nil
}

// schemaJSON returns s in the form a catalog stores it: its JSON as
// json.Marshal embeds it (compacted, <, > and & escaped), so that the bytes
// read back from a stored catalog compare equal to it.
func schemaJSON(s *Schema) (json.RawMessage, error) {
	b, err := s.MarshalJSON()
	if err == nil && !isMarshaledRaw(b) { // else b is already that, and needs no copy (catalog_fast.go)
		b, err = appendJSONRaw(nil, b) // json.Marshal(json.RawMessage(b))
	}
	if err != nil {
		return nil, wrapErr("livedb: store schema", err)
	}
	return b, nil
}
