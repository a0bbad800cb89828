package walkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"

	"github.com/livedb-go/livedb/internal/kv"
)

// A log record's payload is one batch: the number of operations (uvarint),
// then each operation: a kind byte (opPut or opDelete), the key's length
// (uvarint) and the key, and for a put the value's length (uvarint) and the
// value.
const (
	opPut    = 1
	opDelete = 2
)

// encode returns the payload of b, in a new slice.
func encode(b *kv.Batch) []byte {
	n := binary.MaxVarintLen64
	for _, op := range b.Ops {
		n += 1 + 2*binary.MaxVarintLen64 + len(op.Key) + len(op.Value)
	}
	p := make([]byte, 0, n)
	p = binary.AppendUvarint(p, uint64(len(b.Ops)))
	for _, op := range b.Ops {
		if op.Delete {
			p = append(p, opDelete)
			p = binary.AppendUvarint(p, uint64(len(op.Key)))
			p = append(p, op.Key...)
			continue
		}
		p = append(p, opPut)
		p = binary.AppendUvarint(p, uint64(len(op.Key)))
		p = append(p, op.Key...)
		p = binary.AppendUvarint(p, uint64(len(op.Value)))
		p = append(p, op.Value...)
	}
	return p
}

// decode returns the operations of a payload as overlay entries whose
// slices point into p, in the batch's order.
func decode(p []byte) ([]entry, error) {
	count, n := binary.Uvarint(p)
	if n <= 0 {
		return nil, errors.New("bad operation count")
	}
	p = p[n:]
	if count > uint64(len(p)) { // every operation takes at least one byte
		return nil, fmt.Errorf("%d operations in %d bytes", count, len(p))
	}
	out := make([]entry, 0, count)
	field := func(what string, i int) ([]byte, error) {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return nil, fmt.Errorf("operation %d: bad %s length", i, what)
		}
		b := p[n : n+int(l) : n+int(l)]
		p = p[n+int(l):]
		return b, nil
	}
	for i := range int(count) {
		if len(p) == 0 {
			return nil, fmt.Errorf("operation %d: missing", i)
		}
		kind := p[0]
		p = p[1:]
		k, err := field("key", i)
		if err != nil {
			return nil, err
		}
		if len(k) == 0 {
			return nil, fmt.Errorf("operation %d: empty key", i)
		}
		switch kind {
		case opDelete:
			out = append(out, entry{key: k, del: true})
		case opPut:
			v, err := field("value", i)
			if err != nil {
				return nil, err
			}
			out = append(out, entry{key: k, value: v})
		default:
			return nil, fmt.Errorf("operation %d: unknown kind %d", i, kind)
		}
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%d bytes after the last operation", len(p))
	}
	return out, nil
}

// pathErr is "<op> <path>: <err>", as bboltkv's errors read.
func pathErr(op, path string, err error) error { return &fs.PathError{Op: op, Path: path, Err: err} }
