package livedb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/id"
)

// importSource yields the documents of one table as raw JSON texts.
type importSource interface {
	// next returns the next document's text and line, or nil at the end.
	next() (raw []byte, line int, err error)
	// decode turns a document's text into a value.
	decode(raw []byte) (any, error)
	// peekTableNumber returns the table number of the first document's
	// _id, or 0 when it has none (Convex's table_number_for_import).
	peekTableNumber() uint32
	// total returns the number of documents, or -1 when unknown.
	total() int64
	close()
}

// maxImportLine bounds one line of JSONL: a 1 MiB document in JSON with
// base64 bytes stays far below it.
const maxImportLine = 64 << 20

// lineSource reads one JSON value per line; blank lines are skipped.
type lineSource struct {
	name   string
	open   func() (io.ReadCloser, error)
	dec    func([]byte) (any, error)
	rc     io.ReadCloser
	br     *bufio.Reader
	line   int
	peeked []byte
	peekAt int
	err    error
	counts bool // open can be called again, to count lines
}

func newLineSource(name string, open func() (io.ReadCloser, error), dec func([]byte) (any, error)) *lineSource {
	return &lineSource{name: name, open: open, dec: dec}
}

func (s *lineSource) decode(raw []byte) (any, error) { return s.dec(raw) }

func (s *lineSource) next() ([]byte, int, error) {
	if s.peeked != nil {
		raw, line := s.peeked, s.peekAt
		s.peeked = nil
		return raw, line, nil
	}
	return s.read()
}

func (s *lineSource) read() ([]byte, int, error) {
	if s.err != nil {
		return nil, s.line, s.err
	}
	if s.br == nil {
		rc, err := s.open()
		if err != nil {
			s.err = err
			return nil, 0, err
		}
		s.rc, s.br = rc, bufio.NewReaderSize(rc, 64<<10)
	}
	for {
		raw, err := readLine(s.br)
		if err == io.EOF && raw == nil {
			return nil, s.line, nil
		}
		s.line++
		if err != nil && err != io.EOF {
			s.err = err
			return nil, s.line, err
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 {
			return raw, s.line, nil
		}
		if err == io.EOF {
			return nil, s.line, nil
		}
	}
}

// readLine returns the next line without its end, or io.EOF with the last
// unterminated line (nil when there is none).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxImportLine {
			return nil, fmt.Errorf("line longer than %d MiB", maxImportLine>>20)
		}
		switch err {
		case nil:
			return line[:len(line)-1], nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, io.EOF
		default:
			return nil, err
		}
	}
}

func (s *lineSource) peekTableNumber() uint32 {
	if s.peeked == nil {
		raw, line, err := s.read()
		if err != nil || raw == nil {
			return 0
		}
		s.peeked, s.peekAt = raw, line
	}
	return firstIDTableNumber(s.peeked)
}

// firstIDTableNumber returns the table number of the _id in a document's
// JSON text, or 0.
func firstIDTableNumber(raw []byte) uint32 {
	var d struct {
		ID string `json:"_id"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return 0
	}
	n, _ := id.TableNumber(d.ID)
	return n
}

// total counts the lines of a source that can be opened again (a ZIP
// entry); -1 for a plain reader.
func (s *lineSource) total() int64 {
	if !s.counts {
		return -1
	}
	rc, err := s.open()
	if err != nil {
		return -1
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	var n int64
	for {
		raw, err := readLine(br)
		if len(bytes.TrimSpace(raw)) > 0 {
			n++
		}
		if err != nil {
			return n
		}
	}
}

func (s *lineSource) close() {
	if s.rc != nil {
		_ = s.rc.Close()
		s.rc = nil
	}
}

// arraySource reads the elements of one JSON array, held in memory.
type arraySource struct {
	data  []byte
	dec   *json.Decoder
	off   int // offset up to which lines are counted
	line  int
	n     int64
	first []byte
	peek  bool
	done  bool
	err   error // sticky
	errAt int
}

func newArraySource(r io.Reader) (*arraySource, error) {
	data, err := io.ReadAll(r)
	s := &arraySource{data: data, line: 1}
	if err != nil {
		return s, err
	}
	s.dec = json.NewDecoder(bytes.NewReader(data))
	tok, err := s.dec.Token()
	if err != nil {
		return s, fmt.Errorf("want a JSON array: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return s, fmt.Errorf("want a JSON array, found %v", tok)
	}
	return s, nil
}

// lineAt returns the line of byte offset off, counting forward only.
func (s *arraySource) lineAt(off int) int {
	off = min(off, len(s.data))
	s.line += bytes.Count(s.data[s.off:off], []byte{'\n'})
	s.off = off
	return s.line
}

func (s *arraySource) next() ([]byte, int, error) {
	if s.peek {
		s.peek = false
		return s.first, s.line, nil
	}
	if s.err != nil {
		return nil, s.errAt, s.err
	}
	if s.done {
		return nil, s.line, nil
	}
	raw, line, err := s.element()
	if err != nil {
		s.err, s.errAt = err, line
	}
	return raw, line, err
}

// element reads the next element of the array, or nil after its end.
func (s *arraySource) element() ([]byte, int, error) {
	if !s.dec.More() {
		if _, err := s.dec.Token(); err != nil {
			return nil, s.line, fmt.Errorf("unterminated JSON array: %w", err)
		}
		if _, err := s.dec.Token(); err != io.EOF {
			return nil, s.lineAt(int(s.dec.InputOffset())), errors.New("data after the JSON array")
		}
		s.done = true
		return nil, s.line, nil
	}
	start := int(s.dec.InputOffset())
	for start < len(s.data) && strings.IndexByte(" \t\r\n,", s.data[start]) >= 0 {
		start++
	}
	line := s.lineAt(start)
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return nil, line, err
	}
	s.n++
	return raw, line, nil
}

func (s *arraySource) decode(raw []byte) (any, error) { return convexjson.Decode(raw) }

func (s *arraySource) peekTableNumber() uint32 {
	raw, _, err := s.next()
	if err != nil || raw == nil {
		return 0 // next reports the error again
	}
	s.first, s.peek = raw, true
	return firstIDTableNumber(raw)
}

func (s *arraySource) total() int64 { return -1 }

func (s *arraySource) close() {}
