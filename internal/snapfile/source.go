package snapfile

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

// Source yields the documents of one table as raw JSON texts. A Source is
// read once, by one goroutine.
type Source interface {
	// Next returns the next document's text and the line it starts on,
	// or nil at the end. An error is the input's (a line too long, a
	// broken array, a read that failed), with the line it is at; it is
	// returned again by every later call.
	Next() (raw []byte, line int, err error)
	// Decode turns a document's text into a value.
	Decode(raw []byte) (any, error)
	// PeekTableNumber returns the table number of the first document's
	// _id, or 0 when it has none (Convex's table_number_for_import),
	// without consuming the document.
	PeekTableNumber() uint32
	// Total returns the number of documents, or -1 when it is not known
	// without reading them.
	Total() int64
	// Close releases the input. The Source is not used after.
	Close()
}

// MaxLine bounds one line of JSONL: a 1 MiB document in JSON with base64
// bytes stays far below it.
const MaxLine = 64 << 20

// LineSource reads one JSON value per line; blank lines are skipped, and
// lines may end in "\n" or "\r\n".
type LineSource struct {
	name   string
	open   func() (io.ReadCloser, error)
	dec    func([]byte) (any, error)
	rc     io.ReadCloser
	br     *bufio.Reader
	line   int
	peeked []byte
	peekAt int
	err    error
	// Reopenable says that open may be called again, so that Total can
	// count the lines before they are read (a ZIP entry can; a stream
	// cannot).
	Reopenable bool
}

// NewLineSource returns a source that reads the lines of what open opens
// (once, at the first Next, and again for Total when Reopenable) and
// decodes them with dec. name names the input in messages.
func NewLineSource(name string, open func() (io.ReadCloser, error), dec func([]byte) (any, error)) *LineSource {
	return &LineSource{name: name, open: open, dec: dec}
}

// NewStreamSource returns a LineSource that reads r, once.
func NewStreamSource(name string, r io.Reader, dec func([]byte) (any, error)) *LineSource {
	return NewLineSource(name, func() (io.ReadCloser, error) { return io.NopCloser(r), nil }, dec)
}

// Decode decodes raw with the source's decoder.
func (s *LineSource) Decode(raw []byte) (any, error) { return s.dec(raw) }

// Next returns the next non-blank line and its number.
func (s *LineSource) Next() ([]byte, int, error) {
	if s.peeked != nil {
		raw, line := s.peeked, s.peekAt
		s.peeked = nil
		return raw, line, nil
	}
	return s.read()
}

func (s *LineSource) read() ([]byte, int, error) {
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
		if len(line) > MaxLine {
			return nil, fmt.Errorf("line longer than %d MiB", MaxLine>>20)
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

// PeekTableNumber returns the table number of the first document's _id.
func (s *LineSource) PeekTableNumber() uint32 {
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

// Total counts the non-blank lines of a Reopenable source; -1 for another.
func (s *LineSource) Total() int64 {
	if !s.Reopenable {
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

// Close closes what the source opened.
func (s *LineSource) Close() {
	if s.rc != nil {
		_ = s.rc.Close()
		s.rc = nil
	}
}

// ArraySource reads the elements of one JSON array of Convex-JSON
// documents, held in memory.
type ArraySource struct {
	data  []byte
	dec   *json.Decoder
	off   int // offset up to which lines are counted
	line  int
	first []byte
	peek  bool
	done  bool
	err   error // sticky
	errAt int
}

// NewArraySource reads r to its end and checks that it starts a JSON
// array. On an error, the returned source still says the line (Next).
func NewArraySource(r io.Reader) (*ArraySource, error) {
	data, err := io.ReadAll(r)
	s := &ArraySource{data: data, line: 1}
	if err != nil {
		s.err, s.errAt = err, 1
		return s, err
	}
	s.dec = json.NewDecoder(bytes.NewReader(data))
	tok, err := s.dec.Token()
	if err != nil {
		err = fmt.Errorf("want a JSON array: %w", err)
	} else if d, ok := tok.(json.Delim); !ok || d != '[' {
		err = fmt.Errorf("want a JSON array, found %v", tok)
	}
	if err != nil {
		s.err, s.errAt = err, 1
	}
	return s, err
}

// lineAt returns the line of byte offset off, counting forward only.
func (s *ArraySource) lineAt(off int) int {
	off = min(off, len(s.data))
	s.line += bytes.Count(s.data[s.off:off], []byte{'\n'})
	s.off = off
	return s.line
}

// Next returns the next element and the line it starts on.
func (s *ArraySource) Next() ([]byte, int, error) {
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
func (s *ArraySource) element() ([]byte, int, error) {
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
	return raw, line, nil
}

// Decode decodes an element as Convex-JSON.
func (s *ArraySource) Decode(raw []byte) (any, error) { return convexjson.Decode(raw) }

// PeekTableNumber returns the table number of the first element's _id.
func (s *ArraySource) PeekTableNumber() uint32 {
	raw, _, err := s.Next()
	if err != nil || raw == nil {
		return 0 // Next reports the error again
	}
	s.first, s.peek = raw, true
	return firstIDTableNumber(raw)
}

// Total returns -1: the elements are not counted ahead.
func (s *ArraySource) Total() int64 { return -1 }

// Close does nothing: the array is in memory.
func (s *ArraySource) Close() {}
