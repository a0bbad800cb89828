package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
)

// A page of the document browser holds at most maxPageItems documents,
// and stops after the first document that brings it to maxPageBytes:
// the dashboard never sends a whole table at once.
const (
	defaultPageItems = 50
	maxPageItems     = 1000
	maxPageBytes     = 4 << 20
)

// querySpec is the body of POST /api/documents and POST /api/live: a page
// of one table, optionally along an index range, as
//
//	{"table": "tasks", "index": "by_status",
//	 "range": [{"field": "status", "op": "eq", "value": "pending"}],
//	 "order": "desc", "numItems": 50, "cursor": ""}
//
// Values are Convex-JSON. Index "" is the table's by_creation_time order,
// which takes no range.
type querySpec struct {
	Table    string      `json:"table"`
	Index    string      `json:"index"`
	Range    []rangeTerm `json:"range"`
	Order    string      `json:"order"`
	NumItems int         `json:"numItems"`
	Cursor   string      `json:"cursor"`
}

// rangeTerm is one bound of an index range: op is eq, gt, gte, lt or lte.
type rangeTerm struct {
	Field string          `json:"field"`
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
}

// pageQuery is a checked querySpec, its values decoded.
type pageQuery struct {
	querySpec
	values []any // the range's values, by term
}

// parseQuery reads and checks the query of a request.
func parseQuery(r *http.Request) (*pageQuery, error) {
	var q pageQuery
	if err := decodeBody(r, &q.querySpec); err != nil {
		return nil, err
	}
	switch {
	case q.Table == "":
		return nil, badRequest("the query names no table")
	case q.Order != "" && q.Order != "asc" && q.Order != "desc":
		return nil, badRequest("order is \"asc\" or \"desc\", not %q", q.Order)
	case q.NumItems < 0 || q.NumItems > maxPageItems:
		return nil, badRequest("numItems is 1 to %d, not %d", maxPageItems, q.NumItems)
	case q.Index == "" && len(q.Range) > 0:
		return nil, badRequest("a range needs an index: choose one of table %q", q.Table)
	}
	if q.NumItems == 0 {
		q.NumItems = defaultPageItems
	}
	for i, t := range q.Range {
		switch t.Op {
		case "eq", "gt", "gte", "lt", "lte":
		default:
			return nil, badRequest("range term %d (field %q): op is eq, gt, gte, lt or lte, not %q", i, t.Field, t.Op)
		}
		if len(t.Value) == 0 {
			return nil, badRequest("range term %d (field %q): no value", i, t.Field)
		}
		x, err := convexjson.Decode(t.Value)
		if err != nil {
			return nil, fmt.Errorf("livedb dashboard: range term %d (field %q): %w", i, t.Field, err)
		}
		q.values = append(q.values, x)
	}
	return &q, nil
}

// indexRange builds the query's index range.
func (q *pageQuery) indexRange(r livedb.IndexRange) livedb.IndexRange {
	for i, t := range q.Range {
		x := q.values[i]
		switch t.Op {
		case "eq":
			r = r.Eq(t.Field, x)
		case "gt":
			r = r.Gt(t.Field, x)
		case "gte":
			r = r.Gte(t.Field, x)
		case "lt":
			r = r.Lt(t.Field, x)
		case "lte":
			r = r.Lte(t.Field, x)
		}
	}
	return r
}

// page reads the query's page in qc's snapshot.
func (q *pageQuery) page(qc *livedb.QueryCtx) (livedb.PaginationResult[livedb.Doc], error) {
	query := qc.DB.Query(q.Table)
	if q.Index != "" {
		query = query.WithIndex(q.Index, q.indexRange)
	}
	if q.Order == "desc" {
		query = query.Order(livedb.Desc)
	}
	return query.Paginate(livedb.PaginationOptions{NumItems: q.NumItems, Cursor: q.Cursor, MaximumBytesRead: maxPageBytes})
}

// pageReply is the answer of POST /api/documents, and each update of
// POST /api/live: documents in Convex-JSON.
type pageReply struct {
	// Timestamp is the commit the page was read at.
	Timestamp      uint64            `json:"timestamp,string"`
	Page           []json.RawMessage `json:"page"`
	IsDone         bool              `json:"isDone"`
	ContinueCursor string            `json:"continueCursor"`
}

// newPageReply encodes a page read at ts.
func newPageReply(res livedb.PaginationResult[livedb.Doc], ts uint64) (*pageReply, error) {
	docs, err := convexJSONDocs(res.Page)
	if err != nil {
		return nil, err
	}
	return &pageReply{Timestamp: ts, Page: docs, IsDone: res.IsDone, ContinueCursor: res.ContinueCursor}, nil
}

// documents answers POST /api/documents with one page of a query.
func (h *handler) documents(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var reply *pageReply
	err = h.db.Query(r.Context(), func(qc *livedb.QueryCtx) error {
		res, err := q.page(qc)
		if err != nil {
			return err
		}
		reply, err = newPageReply(res, qc.DB.Timestamp())
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

// live answers POST /api/live with a stream of the query's page: now, and
// again after every commit that changes it (a [livedb.Subscribe] of the
// page; a slow reader gets the newest page, never a queue). The page keeps
// its end: documents inserted inside it appear, those after it do not
// push it along. A query that cannot run at all is refused before the
// stream starts; an error of a later run is sent as an "error" event and
// the stream goes on.
func (h *handler) live(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	sub, err := livedb.Subscribe(ctx, h.db, q.page)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer sub.Close()
	first, ok := <-sub.Updates() // ready when Subscribe returns
	if !ok {
		h.fail(w, r, fmt.Errorf("livedb dashboard: live query ended before its first page: %w", context.Cause(ctx)))
		return
	}
	if first.Err != nil {
		h.fail(w, r, first.Err)
		return
	}
	s := startStream(w)
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	send := func(u livedb.Update[livedb.PaginationResult[livedb.Doc]]) error {
		if u.Err != nil {
			return s.sendError(u.Err)
		}
		reply, err := newPageReply(u.Value, u.Timestamp)
		if err != nil {
			return s.sendError(err)
		}
		return s.send("page", reply)
	}
	if err := send(first); err != nil {
		return
	}
	for {
		select {
		case u, ok := <-sub.Updates():
			if !ok {
				s.sendEnd(ctx)
				return
			}
			if err := send(u); err != nil {
				return
			}
		case <-keepalive.C:
			if err := s.ping(); err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
