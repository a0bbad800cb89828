package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/livedb-go/livedb"
)

// An event carries at most changeBatch changes, and no more once their
// documents reach changeBatchBytes.
const (
	changeBatch      = 100
	changeBatchBytes = 1 << 20
)

// changeReply is one change of the feed, its documents in Convex-JSON.
type changeReply struct {
	Timestamp uint64          `json:"timestamp,string"`
	Op        string          `json:"op"`
	Table     string          `json:"table"`
	ID        string          `json:"id"`
	Old       json.RawMessage `json:"old"`
	New       json.RawMessage `json:"new"`
}

// changesEvent is the data of a "changes" event.
type changesEvent struct {
	Changes []changeReply `json:"changes"`
}

// startEvent is the data of the "start" event that opens a change stream:
// the feed follows the changes committed after After.
type startEvent struct {
	After uint64 `json:"after,string"`
}

// changes answers GET /api/changes with the change feed as a stream:
// "changes" events of up to changeBatch changes (or about
// changeBatchBytes of documents) each, in commit order.
// Parameters: after, a commit timestamp (default: the last commit, so the
// stream shows what commits from now on; 0 means the oldest change kept),
// and table, repeated, to follow some tables only. The feed is pulled as
// the client reads, so a slow client never holds up a writer; a client
// that falls behind the retention gets an "error" event
// (livedb.ErrChangesPruned) and the stream ends.
func (h *handler) changes(w http.ResponseWriter, r *http.Request) {
	after := h.db.LastTimestamp()
	if s := r.URL.Query().Get("after"); s != "" {
		ts, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			h.fail(w, r, badRequest("after is a commit timestamp (an unsigned integer), not %q", s))
			return
		}
		after = ts
	}
	feed := h.db.Changes(after, r.URL.Query()["table"]...)
	ctx := r.Context()
	s := startStream(w)
	if err := s.send("start", startEvent{After: after}); err != nil {
		return
	}
	for {
		batch, err := h.nextChanges(ctx, feed, s)
		if err != nil {
			if ctx.Err() == nil {
				if errors.Is(err, livedb.ErrClosed) {
					s.sendEnd(ctx)
				} else {
					s.sendError(err)
				}
			}
			return
		}
		if err := s.send("changes", changesEvent{Changes: batch}); err != nil {
			return
		}
	}
}

// nextChanges waits for the next change, sending keepalives while it
// waits, and returns it with those that follow it at once, up to
// changeBatch changes or changeBatchBytes.
func (h *handler) nextChanges(ctx context.Context, feed *livedb.ChangeFeed, s *eventStream) ([]changeReply, error) {
	var c livedb.Change
	for {
		wait, cancel := context.WithTimeout(ctx, keepaliveEvery)
		var err error
		c, err = feed.Next(wait)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		if err := s.ping(); err != nil { // idle: keep the connection open
			return nil, err
		}
	}
	batch := []changeReply{}
	size := 0
	for {
		cr, err := newChangeReply(c)
		if err != nil {
			return nil, err
		}
		batch = append(batch, cr)
		size += len(cr.Old) + len(cr.New)
		if len(batch) == changeBatch || size >= changeBatchBytes {
			return batch, nil
		}
		var ok bool
		c, ok, err = feed.TryNext()
		if err != nil {
			return nil, err
		}
		if !ok {
			return batch, nil
		}
	}
}

// newChangeReply encodes a change.
func newChangeReply(c livedb.Change) (changeReply, error) {
	cr := changeReply{Timestamp: c.Timestamp, Op: c.Op, Table: c.Table, ID: string(c.ID), Old: json.RawMessage("null"), New: json.RawMessage("null")}
	var err error
	if c.Old != nil {
		if cr.Old, err = convexJSON(c.Old); err != nil {
			return cr, err
		}
	}
	if c.New != nil {
		if cr.New, err = convexJSON(c.New); err != nil {
			return cr, err
		}
	}
	return cr, nil
}
