package bboltkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk meta page (go.etcd.io/bbolt/internal/common, format
// version 2), in the machine's byte order: a 16-byte page header (id, flags,
// count, overflow), then magic, version, page size, flags (4 bytes each),
// the root bucket {root, sequence}, the freelist page id, the high-water
// page id, the transaction id and an FNV-64a checksum of the bytes before
// it. Pages 0 and 1 are the two meta pages; bbolt uses the valid one with
// the higher transaction id.
const (
	metaMagic        = 0xED0CDAED
	metaVersion      = 2
	metaStart        = 16             // the page header
	metaChecksumOff  = metaStart + 56 // where the checksum begins
	metaEnd          = metaChecksumOff + 8
	noFreelist       = ^uint64(0) // bbolt's PgidNoFreelist: the freelist is not stored
	minMetaPageSize  = 1024       // bbolt's smallest page size
	maxMetaPageSize  = 1 << 24    // the largest page size bbolt looks for
	freelistPageFlag = 0x10       // the page header's flags of a freelist page
)

// meta is what checkHeader reads from one meta page.
type meta struct {
	pageSize uint32
	freelist uint64
	pgid     uint64 // the high-water mark: pages [0, pgid) are in use
	txid     uint64
}

// parseMeta decodes the meta page that begins at p, or reports false when
// its magic, version or checksum is wrong (bbolt's Meta.Validate).
func parseMeta(p []byte) (meta, bool) {
	if len(p) < metaEnd {
		return meta{}, false
	}
	ne := binary.NativeEndian
	m := p[metaStart:]
	if ne.Uint32(m[0:]) != metaMagic || ne.Uint32(m[4:]) != metaVersion {
		return meta{}, false
	}
	h := fnv.New64a()
	_, _ = h.Write(p[metaStart:metaChecksumOff])
	if h.Sum64() != ne.Uint64(p[metaChecksumOff:]) {
		return meta{}, false
	}
	return meta{pageSize: ne.Uint32(m[8:]), freelist: ne.Uint64(m[32:]), pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, true
}

// errUndecided is returned by checkHeader when the meta pages do not let
// it decide: the caller falls back to a read-only open, whose bbolt errors
// describe the file.
var errUndecided = errors.New("meta pages undecided")

// checkHeader reads the two meta pages of the file at path, open as f and
// size bytes long, with two small reads and without the memory map, and
// fails with ErrCorrupt when the file
// is shorter than the pages its newest valid meta page accounts for, or when
// that meta page puts the freelist beyond them: bbolt's read-write open
// loads the freelist page through the memory map, where such a file faults.
// It returns errUndecided when the first meta page is not valid or the file
// is too short to hold both (bbolt then finds the page size by probing, or
// refuses the file), and nil when the file is sound as far as these checks
// go.
//
// It runs before bbolt takes the file lock; a process that holds the lock
// and writes meanwhile only ever grows the file before it writes a meta
// page, so a sound file is never refused.
func checkHeader(f *os.File, size int64, path string) error {
	var buf [metaEnd]byte
	if _, err := f.ReadAt(buf[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return errUndecided
		}
		return pathError("open", path, err)
	}
	m0, ok := parseMeta(buf[:])
	ps := int64(m0.pageSize)
	if !ok || ps < minMetaPageSize || ps > maxMetaPageSize || ps&(ps-1) != 0 || size < 2*ps {
		return errUndecided
	}
	if _, err := f.ReadAt(buf[:], ps); err != nil {
		return pathError("open", path, err)
	}
	newest := m0
	if m1, ok := parseMeta(buf[:]); ok && m1.txid > m0.txid {
		newest = m1
	}
	want := int64(newest.pgid) * ps
	switch {
	case newest.pgid > uint64(size/ps):
		return pathError("open", path, fmt.Errorf("%w: the file holds %d bytes but its meta page accounts for %d (truncated)",
			ErrCorrupt, size, want))
	case newest.freelist == noFreelist:
		return nil
	case newest.freelist < 2 || newest.freelist >= newest.pgid:
		return pathError("open", path, fmt.Errorf("%w: the meta page puts the freelist at page %d, outside pages [2, %d)",
			ErrCorrupt, newest.freelist, newest.pgid))
	}
	return checkFreelistPage(f, path, newest)
}

// checkFreelistPage reads the header of the freelist page of m (and the
// count that follows it when the header's count overflows) and fails with
// ErrCorrupt when the page is not a freelist page or its page ids do not fit
// in its pages below the high-water mark.
func checkFreelistPage(f *os.File, path string, m meta) error {
	ps := int64(m.pageSize)
	var hdr [metaStart + 8]byte
	if _, err := f.ReadAt(hdr[:], int64(m.freelist)*ps); err != nil {
		return pathError("open", path, fmt.Errorf("read the freelist page: %w", err))
	}
	ne := binary.NativeEndian
	flags, count, overflow := ne.Uint16(hdr[8:]), uint64(ne.Uint16(hdr[10:])), uint64(ne.Uint32(hdr[12:]))
	pages := overflow + 1
	slots := (pages*uint64(ps) - metaStart) / 8 // page ids the pages hold
	ids := count
	if count == 0xFFFF { // the count is the first slot, before the ids
		ids = ne.Uint64(hdr[metaStart:])
		slots--
	}
	switch {
	case flags != freelistPageFlag:
		return pathError("open", path, fmt.Errorf("%w: page %d, the freelist, has flags %#x", ErrCorrupt, m.freelist, flags))
	case pages > m.pgid-m.freelist || ids > slots:
		return pathError("open", path, fmt.Errorf("%w: the freelist (page %d, %d pages) with %d page ids does not fit below page %d",
			ErrCorrupt, m.freelist, pages, ids, m.pgid))
	}
	return nil
}
