package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
)

// apiError is the body of every failed API request:
//
//	{"error": {"code": "bad_request", "message": "..."}}
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeJSON answers with x as JSON.
func writeJSON(w http.ResponseWriter, status int, x any) {
	b, err := json.Marshal(x)
	if err != nil {
		// Every body is built from strings, numbers and Convex-JSON
		// already encoded: a failure here is a bug of this package.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"livedb dashboard: cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers with an apiError.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// fail answers with the error of a request: the client's mistakes (bad
// query, unknown index, arguments that do not validate, ...) with 4xx and
// their message, anything else with 500, logged.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := classify(err)
	if status >= 500 {
		h.log.Error("livedb dashboard: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, code, err.Error())
}

// classify returns the HTTP status and the API error code of err.
func classify(err error) (int, string) {
	var tooBig *http.MaxBytesError
	var argErr *livedb.ArgumentError
	var retErr *livedb.ReturnsError
	var rangeErr *livedb.IndexRangeError
	var badJSON *convexjson.Error
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.As(err, &badRequestError{}):
		return http.StatusBadRequest, "bad_request"
	case errors.As(err, &badJSON):
		return http.StatusBadRequest, "bad_value"
	case errors.As(err, &argErr):
		return http.StatusBadRequest, "argument_validation"
	case errors.As(err, &rangeErr):
		return http.StatusBadRequest, "invalid_index_range"
	case errors.Is(err, livedb.ErrIndexNotFound):
		return http.StatusNotFound, "index_not_found"
	case errors.Is(err, livedb.ErrUndeclaredTable), errors.Is(err, livedb.ErrInvalidTable):
		return http.StatusNotFound, "table_not_found"
	case errors.Is(err, livedb.ErrUnknownFunction):
		return http.StatusNotFound, "function_not_found"
	case errors.Is(err, livedb.ErrInternalFunction):
		return http.StatusForbidden, "internal_function"
	case errors.Is(err, livedb.ErrInvalidQuery), errors.Is(err, livedb.ErrInvalidCursor),
		errors.Is(err, livedb.ErrInvalidID), errors.Is(err, livedb.ErrLimit):
		return http.StatusBadRequest, "invalid_query"
	case errors.Is(err, livedb.ErrChangesPruned):
		return http.StatusGone, "changes_pruned"
	case errors.Is(err, livedb.ErrClosed):
		return http.StatusServiceUnavailable, "closed"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "canceled"
	case errors.As(err, &retErr):
		// The function broke its own returns validator: a bug of the
		// program, reported to the admin who ran it.
		return http.StatusInternalServerError, "returns_validation"
	}
	return http.StatusInternalServerError, "internal"
}

// badRequestError is a request the API cannot make sense of: malformed
// JSON, a missing or unknown parameter.
type badRequestError struct{ msg string }

func (e badRequestError) Error() string { return "livedb dashboard: " + e.msg }

// badRequest returns a badRequestError.
func badRequest(format string, args ...any) error {
	return badRequestError{msg: fmt.Sprintf(format, args...)}
}

// decodeBody reads the request's JSON body into x, refusing unknown
// fields and trailing data.
func decodeBody(r *http.Request, x any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(x); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("livedb dashboard: request body over %d bytes: %w", maxRequestBytes, err)
		}
		return badRequest("request body: %s", err.Error())
	}
	if dec.More() {
		return badRequest("request body: data after the JSON object")
	}
	return nil
}

// convexJSON returns the Convex-JSON of x, a value read from the
// database or returned by a function.
func convexJSON(x any) (json.RawMessage, error) {
	if d, ok := x.(livedb.Doc); ok {
		x = map[string]any(d)
	}
	b, err := convexjson.Encode(x)
	if err != nil {
		return nil, fmt.Errorf("livedb dashboard: encode Convex-JSON: %w", err)
	}
	return b, nil
}

// convexJSONDocs returns the Convex-JSON of each document.
func convexJSONDocs(docs []livedb.Doc) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		b, err := convexJSON(d)
		if err != nil {
			return nil, fmt.Errorf("document %v: %w", d["_id"], err)
		}
		out[i] = b
	}
	return out, nil
}
