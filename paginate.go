package livedb

import (
	"bytes"
	"crypto/hmac"
	"fmt"
)

// PaginationOptions are the arguments of [Query.Paginate], as Convex's
// paginationOpts. Its json tags give it Convex's shape, so that a
// paginated query served by package server takes it as the paginationOpts
// field of its arguments and passes it straight to Paginate:
//
//	type listArgs struct {
//		Status         string                   `json:"status"`
//		PaginationOpts livedb.PaginationOptions `json:"paginationOpts"`
//	}
//
// with [v.PaginationOpts] in its args validator. A Convex client sends
// cursor: null on the first page, and endCursor: null when it has none;
// the omitempty tags make null read as "" (see [FromDoc]), and "" is left
// out when the options are encoded, which v.PaginationOpts accepts. The
// client's id field is not read: document fields without a Go field are
// ignored.
type PaginationOptions struct {
	// NumItems is how many documents the page should hold, 1 to 32,000
	// (after filters).
	NumItems int `json:"numItems"`
	// Cursor is where the page starts: "" for the beginning, else a
	// ContinueCursor or SplitCursor of the same query.
	Cursor string `json:"cursor,omitempty"`
	// EndCursor, when set, makes the page hold everything in
	// (Cursor, EndCursor], ignoring NumItems and the maximums.
	EndCursor string `json:"endCursor,omitempty"`
	// MaximumRowsRead bounds the rows the page scans (before filters); 0
	// means no bound beyond the transaction's limits.
	MaximumRowsRead int `json:"maximumRowsRead,omitempty"`
	// MaximumBytesRead bounds the bytes the page scans; 0 means none. It
	// is an int, like MaximumRowsRead, so that it encodes as the Float64
	// that Convex's number (and v.PaginationOpts) takes.
	MaximumBytesRead int `json:"maximumBytesRead,omitempty"`
}

// PaginationResult is one page of a query: [Query.Paginate] returns a
// PaginationResult[Doc], [TypedQuery.Paginate] a PaginationResult[T]. Its
// json tags give it Convex's shape ({page, isDone, continueCursor,
// splitCursor, pageStatus}) when a function returns it, so that a Convex
// client served by package server reads it as Convex's PaginationResult.
type PaginationResult[T any] struct {
	// Page holds the page's documents.
	Page []T `json:"page"`
	// IsDone is true only when the scan ran off the end of the range: a
	// full page that ends exactly at the last document has IsDone false,
	// and the next page is empty with IsDone true (as in Convex).
	IsDone bool `json:"isDone"`
	// ContinueCursor is where the next page starts.
	ContinueCursor string `json:"continueCursor"`
	// SplitCursor, when set, is a cursor after the middle row scanned, for
	// splitting the page into (Cursor, SplitCursor] and (SplitCursor,
	// ContinueCursor].
	SplitCursor string `json:"splitCursor,omitempty"`
	// PageStatus is "" or a reason to split the page, as Convex's
	// pageStatus (docs/semantics.md#pagination):
	//   - "SplitRecommended": the page read more than ¾ of a limit, or
	//     holds more than 6,144 documents;
	//   - "SplitRequired": the page stopped early at MaximumRowsRead,
	//     MaximumBytesRead or a transaction read limit.
	PageStatus string `json:"pageStatus,omitempty"`
}

// The values of PaginationResult.PageStatus.
const (
	pageSplitRecommended = "SplitRecommended"
	pageSplitRequired    = "SplitRequired"
)

const (
	maxPageItems      = 32000
	splitRecommendLen = 6144
	cursorVersion     = cursorVersionCMAC // cursor_mac.go: version 1 is still read
	cursorMACLen      = 12
	cursorKindAfter   = 1
	cursorKindEnd     = 2
)

// cursor is a decoded pagination cursor: a position in the query's key
// space, "after key" or "end".
type cursor struct {
	end bool
	key []byte
	// room is spare capacity after a decoded cursor's bytes, for the
	// successor key a page's read set records (cursor_decode.go).
	room []byte
}

// fingerprint identifies a query for its cursors. It is computed once per
// query.
func (q *Query) fingerprint() []byte {
	if !q.fpSet {
		q.fp, q.fpSet = q.fingerprintOf(), true // paginate_fixed.go
	}
	return q.fp[:]
}

// cursorMAC returns the MAC of a cursor body, made with the database's
// secret (cursor_mac.go).
func (q *Query) cursorMAC(body []byte) []byte {
	var buf [cursorMACLen]byte
	return macCursor(buf[:0], q.tx.cat, body)
}

// encodeCursor writes version, kind, fingerprint and key, then a MAC made
// with the database's secret, as URL-safe base64.
func (q *Query) encodeCursor(c cursor) string {
	// paginate_fixed.go: one allocation, the string; the body is
	// cursorBody's (read_fixed3.go).
	var buf [128]byte
	return appendCursorString(q.cursorBody(buf[:0], c))
}

func (q *Query) decodeCursor(s string) (cursor, error) {
	bad := func(why string) (cursor, error) {
		return cursor{}, fmt.Errorf("%w: %s", ErrInvalidCursor, why)
	}
	// Strict: the unused bits of the last character must be zero, so that
	// every change to the string is refused, not just most of them.
	b, err := decodeCursorText(s) // cursor_decode.go
	if err != nil || len(b) < 2+8+cursorMACLen {
		return bad("not a livedb cursor")
	}
	body, mac := b[:len(b)-cursorMACLen], b[len(b)-cursorMACLen:]
	if body[0] != cursorVersionHMAC && body[0] != cursorVersionCMAC { // the version picks the MAC (cursor_mac.go)
		return bad("unknown cursor version")
	}
	if !hmac.Equal(q.cursorMAC(body), mac) {
		return bad("the cursor was altered, or comes from another database")
	}
	if body[1] != cursorKindAfter && body[1] != cursorKindEnd {
		return bad("unknown cursor version")
	}
	if !bytes.Equal(body[2:10], q.fingerprint()) {
		return bad("tried to run a query starting from a cursor, but it looks like this cursor is from a different query")
	}
	// key keeps the capacity of b's bytes: the MAC's bytes, checked and no
	// longer needed, follow it, so that append(key, 0), its successor, is
	// made in place rather than by a copy (keySuccessor). The room beyond
	// is out of its reach.
	return cursor{end: body[1] == cursorKindEnd, key: body[10:len(body):len(b)], room: b[len(b):cap(b):cap(b)]}, nil
}

// Paginate returns one page of the query's results
// (docs/semantics.md#pagination). Cursors are
// opaque strings bound to this query (table, index, range, order and
// filters) and to this database; they point at a key, not at a document,
// so deleting the document a cursor stopped at does not break it.
//
// Unlike Convex, livedb allows several paginated queries in one function:
// Convex forbids them because its reactive "query journal" keeps one page
// end per function; livedb's subscriptions keep one page end per Paginate
// call, in call order, so the restriction is not needed.
func (q *Query) Paginate(opts PaginationOptions) (PaginationResult[Doc], error) {
	return q.paginate(opts, nil)
}

// paginate is Paginate; a non-nil add gets the page's rows, which may be
// raw (read_direct.go), instead of the result's Page.
func (q *Query) paginate(opts PaginationOptions, add func(docRow) error) (PaginationResult[Doc], error) {
	var res PaginationResult[Doc]
	switch {
	case opts.NumItems < 0:
		return res, fmt.Errorf("%w: NumItems must be a positive number, got %d", ErrInvalidQuery, opts.NumItems)
	case opts.NumItems == 0 && opts.EndCursor == "":
		return res, fmt.Errorf("%w: must request at least 1 document while paginating", ErrInvalidQuery)
	case opts.NumItems > maxPageItems:
		return res, fmt.Errorf("%w: NumItems %d is too large (maximum %d)", ErrInvalidQuery, opts.NumItems, maxPageItems)
	case opts.MaximumRowsRead < 0 || opts.MaximumBytesRead < 0:
		return res, fmt.Errorf("%w: MaximumRowsRead and MaximumBytesRead must be positive", ErrInvalidQuery)
	}
	if q.search != nil {
		return q.searchPaginate(opts)
	}
	cr, err := q.plan()
	if err != nil {
		return res, err
	}
	call := q.tx.paginateCalls
	q.tx.paginateCalls++
	if opts.EndCursor == "" && call < len(q.tx.journalIn) {
		opts.EndCursor = q.tx.journalIn[call] // a subscription keeps its page end (docs/semantics.md#pagination)
	}
	if opts.Cursor != "" {
		c, err := q.decodeCursor(opts.Cursor)
		if err != nil {
			return res, err
		}
		if c.end {
			cr.start = cr.end // empty range
		} else if q.order == Desc {
			cr.end = minKey(cr.end, c.key)
		} else {
			cr.start = maxKey(cr.start, append(c.key, 0)) // in place (decodeCursor)
		}
		cr.room = c.room
	}
	bounded := opts.EndCursor != ""
	var endC cursor
	if bounded {
		if endC, err = q.decodeCursor(opts.EndCursor); err != nil {
			return res, err
		}
		if !endC.end {
			if q.order == Desc {
				cr.start = maxKey(cr.start, endC.key)
			} else {
				cr.end = minKey(cr.end, append(endC.key, 0)) // in place (decodeCursor)
			}
		}
	}
	res, err = q.page(cr, opts, bounded, add)
	if err != nil {
		return res, err
	}
	if bounded {
		res.ContinueCursor = opts.EndCursor
		res.IsDone = endC.end
	}
	q.tx.addPageEnd(res.ContinueCursor) // read_fixed3.go
	return res, nil
}

func minKey(a, b []byte) []byte {
	if bytes.Compare(a, b) <= 0 {
		return a
	}
	return b
}

func maxKey(a, b []byte) []byte {
	if bytes.Compare(a, b) >= 0 {
		return a
	}
	return b
}

// page scans cr for one page; rows go to add when it is not nil.
func (q *Query) page(cr compiledRange, opts PaginationOptions, bounded bool, add func(docRow) error) (PaginationResult[Doc], error) {
	res := PaginationResult[Doc]{Page: []Doc{}}
	if q.t == nil || bytes.Compare(cr.start, cr.end) >= 0 {
		res.IsDone = true
		res.ContinueCursor = q.encodeCursor(cursor{end: true})
		return res, nil
	}
	if n := pageCap(opts, bounded); add == nil && n > 0 {
		res.Page = make([]Doc, 0, n) // read_alloc.go
	}
	s := q.scan(cr) // read_fixed3.go
	defer s.release()
	s.raw = q.rawScan(add)
	limits := q.tx.limits
	maxRows, maxBytes := opts.MaximumRowsRead, int64(opts.MaximumBytesRead)
	var rows int
	var bytesRead int64
	var keys [][]byte
	if !bounded {
		keys = s.pageKeys[:0] // the pooled scanner's (read_fixed2.go)
		if cap(keys) < min(opts.NumItems+1, 64) {
			keys = make([][]byte, 0, min(opts.NumItems+1, 64))
		}
	}
	items := 0 // rows kept
	var row docRow
	for bounded || items < opts.NumItems {
		if !bounded && rows > 0 && (maxRows > 0 && rows >= maxRows ||
			maxBytes > 0 && bytesRead >= maxBytes ||
			q.tx.docsRead >= limits.DocumentsRead || q.tx.bytesRead >= limits.BytesRead) {
			res.PageStatus = pageSplitRequired
			break
		}
		before := q.tx.bytesRead
		ok, err := s.nextRow(&row) // query_scan_memo.go
		if err != nil {
			s.close()
			return res, err
		}
		if !ok {
			break
		}
		rows++
		bytesRead += q.tx.bytesRead - before
		keys = append(keys, s.lastKey)
		pass, err := q.keep(row)
		if err != nil {
			s.close()
			return res, err
		}
		if pass {
			items++
		}
		switch {
		case pass && add != nil:
			if err := add(row); err != nil {
				s.close()
				return res, err
			}
		case pass:
			res.Page = append(res.Page, q.emit(row))
		}
	}
	if err := s.close(); err != nil {
		return res, err
	}
	cont := cursor{key: s.lastKey}
	if s.exhausted {
		res.IsDone, cont = true, cursor{end: true}
	}
	if res.PageStatus == "" && !bounded && splitRecommended(rows, bytesRead, items, opts, limits) {
		res.PageStatus = pageSplitRecommended
	}
	if len(keys) > 2 {
		// Both cursors in one allocation (read_fixed3.go).
		res.ContinueCursor, res.SplitCursor = q.encodeCursors(cont, cursor{key: keys[(len(keys)-1)/2]})
	} else {
		res.ContinueCursor = q.encodeCursor(cont)
	}
	s.pageKeys = keys
	return res, nil
}

func splitRecommended(rows int, bytesRead int64, items int, opts PaginationOptions, l *Limits) bool {
	maxRows, maxBytes := int64(l.DocumentsRead), l.BytesRead
	if opts.MaximumRowsRead > 0 {
		maxRows = int64(opts.MaximumRowsRead)
	}
	if opts.MaximumBytesRead > 0 {
		maxBytes = int64(opts.MaximumBytesRead)
	}
	return int64(rows)*4 > maxRows*3 || bytesRead*4 > maxBytes*3 || items > splitRecommendLen
}
