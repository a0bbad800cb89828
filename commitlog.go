package livedb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/livedb-go/livedb/internal/kv"
)

// The commit log seam (docs/architecture.md, "A log in front of the
// store"). The store is a materialization of a log of commit groups: the
// committer encodes each group it commits as a logGroup, a log in front of
// the store (a shared log in PostgreSQL) appends it before the store
// commit, and applying a group written by another process is the same code
// as recovering one from the log: applyGroup.

// logGroup is one commit group as a log carries it: what the group wrote to
// storage and, for each of its commits, what optimistic concurrency control
// and subscriptions need to know of it.
type logGroup struct {
	records []*commitRecord
	// ops are the group's storage writes: documents, index entries and
	// change records, without the keys storeGroup adds (catalog, last
	// timestamp, change-feed pruning), which each store keeps itself.
	ops []kv.Op
	// catalog is the catalog after the group in its stored form, or nil
	// when the group did not change it.
	catalog []byte
}

// ts returns the timestamp of the group's last commit.
func (g *logGroup) ts() uint64 { return g.records[len(g.records)-1].ts }

// logFormat is the first byte of an encoded logGroup.
const logFormat = 1

// encodeLogGroup encodes g: the format byte, the records (timestamp,
// catalog keys, and per written document its table number, ID and old and
// new index keys), the storage writes, and the catalog.
func encodeLogGroup(g *logGroup) []byte {
	b := []byte{logFormat}
	b = binary.AppendUvarint(b, uint64(len(g.records)))
	for _, rec := range g.records {
		b = binary.AppendUvarint(b, rec.ts)
		b = appendKeyList(b, rec.tableKeys)
		b = binary.AppendUvarint(b, uint64(len(rec.writes)))
		for _, pd := range rec.writes {
			b = binary.AppendUvarint(b, uint64(pd.table.number))
			b = appendBytes(b, []byte(pd.id))
			b = appendKeyList(b, pd.oldKeys)
			b = appendKeyList(b, pd.newKeys)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(g.ops)))
	for _, op := range g.ops {
		if op.Delete {
			b = appendBytes(append(b, 1), op.Key)
			continue
		}
		b = appendBytes(append(b, 0), op.Key)
		b = appendBytes(b, op.Value)
	}
	return appendOptBytes(b, g.catalog)
}

// appendKeyList appends a list of optional keys; a nil list and a list of
// none differ (a nil oldKeys means an insert).
func appendKeyList(b []byte, keys [][]byte) []byte {
	if keys == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(append(b, 1), uint64(len(keys)))
	for _, k := range keys {
		b = appendOptBytes(b, k)
	}
	return b
}

// errBadLogGroup says that a log entry cannot be decoded: the log was
// written by something else, or damaged.
var errBadLogGroup = errors.New("malformed log entry")

// logReader decodes a logGroup, remembering the first error.
type logReader struct {
	b   []byte
	err error
}

func (r *logReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errBadLogGroup
		return 0
	}
	r.b = r.b[k:]
	return n
}

// count reads a count of items that each take at least one byte.
func (r *logReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errBadLogGroup
		return 0
	}
	return int(n)
}

func (r *logReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	p, rest, err := readBytes(r.b)
	if err != nil {
		r.err = errBadLogGroup
		return nil
	}
	r.b = rest
	return p
}

func (r *logReader) optBytes() []byte {
	if r.err != nil {
		return nil
	}
	p, rest, err := readOptBytes(r.b)
	if err != nil {
		r.err = errBadLogGroup
		return nil
	}
	r.b = rest
	return p
}

func (r *logReader) byte1() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errBadLogGroup
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *logReader) keyList() [][]byte {
	switch r.byte1() {
	case 0:
		return nil
	case 1:
	default:
		r.err = errBadLogGroup
		return nil
	}
	n := r.count()
	keys := make([][]byte, 0, n)
	for range n {
		keys = append(keys, r.optBytes())
	}
	return keys
}

// decodeLogGroup decodes an entry that encodeLogGroup wrote. The
// pendingDocs it returns hold keys only, which is all that conflict checks
// and subscriptions read, and a table that holds only its number until
// resolve replaces it.
func decodeLogGroup(b []byte) (*logGroup, error) {
	r := &logReader{b: b}
	if f := r.byte1(); r.err == nil && f != logFormat {
		return nil, fmt.Errorf("%w: log entry format %d, this livedb reads format %d", ErrNotLivedb, f, logFormat)
	}
	g := &logGroup{}
	n := r.count()
	for range n {
		rec := &commitRecord{ts: r.uvarint(), tableKeys: r.keyList()}
		docs := r.count()
		for range docs {
			num := r.uvarint()
			pd := &pendingDoc{id: string(r.bytes()), oldKeys: r.keyList(), newKeys: r.keyList()}
			if num > 1<<32-1 {
				r.err = errBadLogGroup
			}
			if r.err != nil {
				break
			}
			pd.table = &tableInfo{number: uint32(num)}
			rec.writes = append(rec.writes, pd)
		}
		g.records = append(g.records, rec)
	}
	nops := r.count()
	g.ops = make([]kv.Op, 0, nops)
	for range nops {
		switch r.byte1() {
		case 0:
			g.ops = append(g.ops, kv.Op{Key: r.bytes(), Value: r.bytes()})
		case 1:
			g.ops = append(g.ops, kv.Op{Key: r.bytes(), Delete: true})
		default:
			r.err = errBadLogGroup
		}
	}
	g.catalog = r.optBytes()
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("%w: %w", ErrNotLivedb, r.err)
	case len(r.b) != 0:
		return nil, fmt.Errorf("%w: %w: %d bytes after its end", ErrNotLivedb, errBadLogGroup, len(r.b))
	case len(g.records) == 0:
		return nil, fmt.Errorf("%w: %w: no commit", ErrNotLivedb, errBadLogGroup)
	}
	for i := 1; i < len(g.records); i++ {
		if g.records[i].ts <= g.records[i-1].ts {
			return nil, fmt.Errorf("%w: %w: timestamps out of order", ErrNotLivedb, errBadLogGroup)
		}
	}
	return g, nil
}

// resolve gives each written document the table cat numbers as it says:
// the catalog the group leaves, in which every table it wrote is.
func (g *logGroup) resolve(cat *catalog) error {
	for _, rec := range g.records {
		for _, pd := range rec.writes {
			t := cat.byNumber[pd.table.number]
			if t == nil {
				return fmt.Errorf("%w: %w: document %s of table number %d, which the catalog lacks", ErrNotLivedb, errBadLogGroup, pd.id, pd.table.number)
			}
			for _, keys := range [2][][]byte{pd.oldKeys, pd.newKeys} {
				if keys != nil && len(keys) != len(t.indexes) {
					return fmt.Errorf("%w: %w: document %s has %d index keys, table %q has %d indexes", ErrNotLivedb, errBadLogGroup, pd.id, len(keys), t.name, len(t.indexes))
				}
			}
			pd.table = t
		}
	}
	return nil
}
