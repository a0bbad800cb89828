package snapfile

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Writer writes the entries of a snapshot ZIP, each through one reused
// buffer. Its errors are *Error naming the entry.
type Writer struct {
	zw       *zip.Writer
	modified time.Time
	buf      *bufio.Writer
}

// NewWriter returns a Writer of a ZIP into w whose entries all carry the
// modification time modified.
func NewWriter(w io.Writer, modified time.Time) *Writer {
	return &Writer{zw: zip.NewWriter(w), modified: modified}
}

// File writes the entry name with what fill writes. An error of fill is
// returned inside an *Error naming the entry.
func (w *Writer) File(name string, fill func(w *bufio.Writer) error) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: w.modified}
	h.SetMode(0o644)
	fw, err := w.zw.CreateHeader(h)
	if err != nil {
		return &Error{File: name, Err: err}
	}
	if w.buf == nil {
		w.buf = bufio.NewWriterSize(fw, 64<<10)
	} else {
		w.buf.Reset(fw)
	}
	if err := fill(w.buf); err != nil {
		return &Error{File: name, Err: err}
	}
	if err := w.buf.Flush(); err != nil {
		return &Error{File: name, Err: err}
	}
	return nil
}

// TableEntry is a line of _tables/documents.jsonl.
type TableEntry struct {
	Name   string
	Number uint32
}

// Tables writes _tables/documents.jsonl.
func (w *Writer) Tables(tables []TableEntry) error {
	return w.File(TablesFile, func(bw *bufio.Writer) error {
		for _, t := range tables {
			name, err := json.Marshal(t.Name)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(bw, "{\"name\":%s,\"id\":%d}\n", name, t.Number); err != nil {
				return err
			}
		}
		return nil
	})
}

// GeneratedSchema writes the generated_schema.jsonl of table: "uniform".
func (w *Writer) GeneratedSchema(table string) error {
	return w.File(table+"/"+GeneratedSchemaFile, func(bw *bufio.Writer) error {
		_, err := bw.WriteString(strconv.Quote(Uniform) + "\n")
		return err
	})
}

// Close finishes the ZIP (its central directory); it does not close the
// io.Writer.
func (w *Writer) Close() error {
	if err := w.zw.Close(); err != nil {
		return &Error{Err: err}
	}
	return nil
}
