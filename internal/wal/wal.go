// Package wal is a segment of the write-ahead log that livedb keeps beside a
// bbolt database: a header, then records appended one per storage commit,
// each checksummed, each made durable by one fdatasync. It knows bytes only;
// what a record holds, and how segments follow one another, is its
// caller's (package walkv).
//
// # Format
//
// The header is 16 bytes: the magic "LIVEDBWL", the format version
// (uint32, little-endian) and a CRC-32C of those 12 bytes. A record is a
// 16-byte head, then its payload: the payload's length (uint32), the
// CRC-32C of the sequence number and payload (uint32), and the sequence
// number (uint64), all little-endian. Sequence numbers go up by one from
// record to record within a file, from the first one its caller names. Zeros may follow the last record:
// Append writes them ahead (growBy, 1 MiB, at a time), so that a record's
// fdatasync has no file size to flush.
//
// # Damage
//
// A crash can leave the last record incomplete: Open detects it (the
// length runs past the end, or the checksum does not match) and cuts the
// file at the end of the last whole record. A bad record followed by a
// valid one is not a crash's doing: Open fails with an error that wraps
// ErrCorrupt and says where, and cuts nothing.
//
// A Log is not safe for concurrent use; its owner serialises calls.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/livedb-go/livedb/internal/fsutil"
)

// Version is the format version this package writes and reads.
const Version = 1

const (
	magic      = "LIVEDBWL"
	headerSize = 16
	headSize   = 16 // a record's head: length, checksum, sequence number
	// growBy is how far Append writes zeros ahead of the records: a record
	// then overwrites blocks the file already has, and its fdatasync
	// flushes data only, not the file's size through the journal.
	growBy = 1 << 20
	// MaxRecord bounds a payload: a longer one is refused by Append, and
	// a length above it in a file is damage.
	MaxRecord = 1 << 30
)

var (
	// ErrCorrupt is wrapped by Open's error for a damaged record that a
	// valid record follows.
	ErrCorrupt = errors.New("write-ahead log is damaged")
	// ErrNotLog is wrapped by Open's error for a file whose header is not
	// a log's (wrong magic or checksum).
	ErrNotLog = errors.New("not a livedb write-ahead log")
	// ErrVersion is wrapped by Open's error for a log of a format version
	// newer than Version.
	ErrVersion = errors.New("write-ahead log of a newer format")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Log is an open log file.
type Log struct {
	f      *os.File
	path   string
	size   int64  // bytes of whole records and header: where Append writes
	alloc  int64  // the file's length: size, then zeros written ahead
	next   uint64 // the sequence number of the next record
	noSync bool
	buf    []byte
}

// Recovered says what Open found in the file.
type Recovered struct {
	Records  int   // whole records replayed
	CutBytes int64 // bytes of a torn tail that Open cut off
	Created  bool  // the file did not exist and Open created it
}

// Open opens the log at path, creating it (and syncing its directory)
// when it does not exist and create is set, and calls replay with each
// whole record's payload in order; the payload is only valid during the
// call. first is the sequence number of the file's first record (and of
// the next one appended to an empty file). A torn tail is cut off (unless
// readOnly, where it is only left out). An error from replay ends Open
// with that error.
//
// A missing file with create unset gives (nil, Recovered{}, nil).
func Open(path string, create, readOnly, noSync bool, first uint64, replay func(seq uint64, payload []byte) error) (*Log, Recovered, error) {
	if first == 0 {
		return nil, Recovered{}, fmt.Errorf("open %s: sequence numbers begin at 1", path)
	}
	var rec Recovered
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := fsutil.OpenFile(path, flag, 0o600) // without the runtime's poller: a regular file
	if errors.Is(err, os.ErrNotExist) && create && !readOnly {
		if f, err = create1(path, noSync); err != nil {
			return nil, rec, err // not "missing": creating it failed
		}
		rec.Created = true
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, rec, nil
	}
	if err != nil {
		return nil, rec, err
	}
	l := &Log{f: f, path: path, noSync: noSync, next: first}
	if err := l.recover(readOnly, replay, &rec); err != nil {
		_ = f.Close()
		return nil, rec, err
	}
	return l, rec, nil
}

// create1 creates the file with its header, durably.
func create1(path string, noSync bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(header()); err == nil && !noSync {
		if err = f.Sync(); err == nil {
			err = fsutil.SyncDir(filepath.Dir(path))
		}
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return f, nil
}

func header() []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], Version)
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(h[:12], castagnoli))
	return h
}

// recover checks the header, replays the whole records and cuts a torn
// tail.
func (l *Log) recover(readOnly bool, replay func(uint64, []byte) error, rec *Recovered) error {
	data, err := io.ReadAll(l.f)
	if err != nil {
		return fmt.Errorf("read %s: %w", l.path, err)
	}
	if len(data) < headerSize {
		// Only a crash while the header was being written leaves a short
		// file, before any record: an empty log.
		if string(data) != magic[:min(len(data), len(magic))] {
			return fmt.Errorf("%s: %w: %d-byte file with no header", l.path, ErrNotLog, len(data))
		}
		if readOnly {
			return nil
		}
		if err := l.rewrite(header()); err != nil {
			return err
		}
		l.size, l.alloc = headerSize, headerSize
		return nil
	}
	h := data[:headerSize]
	if string(h[:8]) != magic || binary.LittleEndian.Uint32(h[12:]) != crc32.Checksum(h[:12], castagnoli) {
		return fmt.Errorf("%s: %w: bad magic or header checksum", l.path, ErrNotLog)
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != Version {
		return fmt.Errorf("%s: %w: format version %d, this livedb reads version %d", l.path, ErrVersion, v, Version)
	}
	off := int64(headerSize)
	prev := l.next - 1 // the sequence number before the next record
	for off < int64(len(data)) {
		seq, payload, ok := parse(data, off, prev)
		if !ok && allZero(data[off:]) {
			break // the zeros Append wrote ahead
		}
		if !ok {
			if at, s, found := validAfter(data, off+1, prev); found {
				return fmt.Errorf("%s: %w: the record at byte %d (after sequence number %d) is damaged, and a valid record (sequence number %d) follows at byte %d",
					l.path, ErrCorrupt, off, prev, s, at)
			}
			rec.CutBytes = int64(len(data)) - off
			break
		}
		if err := replay(seq, payload); err != nil {
			return err
		}
		rec.Records++
		prev = seq
		off += headSize + int64(len(payload))
	}
	l.size, l.alloc = off, int64(len(data))
	l.next = prev + 1
	if rec.CutBytes > 0 && !readOnly {
		if err := l.truncate(off); err != nil {
			return err
		}
	}
	return nil
}

// parse reads the record at off; prev is the sequence number of the one
// before it, or 0.
func parse(data []byte, off int64, prev uint64) (seq uint64, payload []byte, ok bool) {
	if int64(len(data))-off < headSize {
		return 0, nil, false
	}
	h := data[off : off+headSize]
	n := int64(binary.LittleEndian.Uint32(h[0:]))
	sum := binary.LittleEndian.Uint32(h[4:])
	seq = binary.LittleEndian.Uint64(h[8:])
	end := off + headSize + n
	if n > MaxRecord || end > int64(len(data)) || seq != prev+1 {
		return 0, nil, false
	}
	if crc32.Checksum(data[off+8:end], castagnoli) != sum {
		return 0, nil, false
	}
	return seq, data[off+headSize : end], true
}

// maxDamagedRun bounds how many records in a row validAfter assumes damaged:
// only a head whose sequence number is at most this far after prev is
// checksummed. Without the bound, the bytes of a torn record's payload
// would pass for heads half the time, and scanning a large one would
// checksum up to its length at every offset.
const maxDamagedRun = 1 << 16

// validAfter looks for a valid record at or after byte from whose sequence
// number is after prev (by at most maxDamagedRun).
func validAfter(data []byte, from int64, prev uint64) (at int64, seq uint64, found bool) {
	for at = from; at+headSize <= int64(len(data)); at++ {
		s := binary.LittleEndian.Uint64(data[at+8:])
		if s <= prev || s-prev > maxDamagedRun {
			continue
		}
		if _, _, ok := parse(data, at, s-1); ok {
			return at, s, true
		}
	}
	return 0, 0, false
}

// rewrite replaces the file's contents with b, durably.
func (l *Log) rewrite(b []byte) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write %s: %w", l.path, err)
	}
	return l.sync()
}

// truncate cuts the file at size, durably.
func (l *Log) truncate(size int64) error {
	if err := l.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s: %w", l.path, err)
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.size, l.alloc = size, size
	return nil
}

// allZero reports whether b holds zeros only.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

var zeros = make([]byte, growBy)

// grow writes zeros ahead of the records, so that the file has room for n
// more bytes. The record's fdatasync that follows syncs them and the size.
func (l *Log) grow(n int64) error {
	for l.alloc < l.size+n {
		if _, err := l.f.WriteAt(zeros, l.alloc); err != nil {
			return fmt.Errorf("grow %s: %w", l.path, err)
		}
		l.alloc += growBy
	}
	return nil
}

func (l *Log) sync() error {
	if l.noSync {
		return nil
	}
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("sync %s: %w", l.path, err)
	}
	return nil
}

// Append writes one record holding payload at the end of the log and,
// unless the log was opened with noSync, fdatasyncs the file before it
// returns. An error leaves the outcome unknown: the record may be in the
// file, whole or torn.
func (l *Log) Append(payload []byte) error {
	if len(payload) > MaxRecord {
		return fmt.Errorf("append to %s: a %d-byte record is over the %d-byte limit", l.path, len(payload), MaxRecord)
	}
	b := append(l.buf[:0], make([]byte, headSize)...)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(b[8:], l.next)
	b = append(b, payload...)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	if cap(b) <= 1<<20 {
		l.buf = b
	}
	if err := l.grow(int64(len(b))); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(b, l.size); err != nil {
		return fmt.Errorf("append to %s: %w", l.path, err)
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.size += int64(len(b))
	l.next++
	return nil
}

// Size returns the bytes of the header and the whole records (the file
// may be longer: zeros written ahead).
func (l *Log) Size() int64 { return l.size }

// Next returns the sequence number the next appended record gets.
func (l *Log) Next() uint64 { return l.next }

// Path returns the file's path.
func (l *Log) Path() string { return l.path }

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }
