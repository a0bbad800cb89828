package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/livedb-go/livedb"
)

// keepaliveEvery is how often an idle stream sends a comment line, so
// that proxies and the browser keep the connection open.
const keepaliveEvery = 15 * time.Second

// eventStream writes Server-Sent Events ("event: name\ndata: json\n\n"),
// flushing each one. The page reads them with fetch, which can send the
// admin key header (EventSource cannot). An eventStream belongs to the
// goroutine serving its request.
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startStream answers 200 with an event stream.
func startStream(w http.ResponseWriter) *eventStream {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w)}
	s.rc.Flush()
	return s
}

// send writes one event whose data is x as JSON. encoding/json escapes
// newlines inside strings, so the data is one line.
func (s *eventStream) send(event string, x any) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(b)+len(event)+16)
	buf = append(buf, "event: "...)
	buf = append(buf, event...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	return s.write(buf)
}

// sendError writes an "error" event with err as an apiError.
func (s *eventStream) sendError(err error) error {
	var e apiError
	_, e.Error.Code = classify(err)
	e.Error.Message = err.Error()
	return s.send("error", e)
}

// sendEnd writes the "end" event of a stream that the server ends: the
// database closed, or the request's context ended.
func (s *eventStream) sendEnd(ctx context.Context) {
	err := ctx.Err()
	if err == nil {
		err = livedb.ErrClosed
	}
	var e apiError
	_, e.Error.Code = classify(err)
	e.Error.Message = "the stream ended: " + err.Error()
	s.send("end", e)
}

// ping writes a comment line.
func (s *eventStream) ping() error { return s.write([]byte(": keepalive\n\n")) }

func (s *eventStream) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
