package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
)

// statusFunctionFailed is the HTTP status of a call whose function failed:
// Convex's STATUS_CODE_UDF_FAILED, which ConvexHttpClient reads as a
// result with status "error".
const statusFunctionFailed = 560

// callRequest is the body of /api/query, /api/mutation and /api/function
// as ConvexHttpClient sends it.
type callRequest struct {
	Path   string          `json:"path"`
	Args   json.RawMessage `json:"args"`
	Format string          `json:"format"`
	// TS is the timestamp of /api/query_at_ts, as /api/query_ts gave it.
	TS            *string `json:"ts"`
	ComponentPath *string `json:"componentPath"`
}

// serveCall serves the HTTP endpoints of one-shot calls.
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOrigin(r); err != nil {
		s.refuse(w, r, http.StatusForbidden, "Forbidden", err.Error())
		return
	}
	s.setCORS(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent) // a CORS preflight, answered by setCORS
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("%s takes POST, not %s", r.URL.Path, r.Method))
		return
	}
	var kind string // "query", "mutation", or "" for the function's own
	switch r.URL.Path {
	case "/api/query", "/api/query_at_ts":
		kind = "query"
	case "/api/mutation":
		kind = "mutation"
	case "/api/function":
		// kind from the function
	case "/api/query_ts":
		writeJSON(w, http.StatusOK, map[string]string{"ts": strconv.FormatUint(s.db.LastTimestamp(), 10)})
		return
	case "/api/action":
		writeJSON(w, statusFunctionFailed, errorResult("livedb has no actions: call queries and mutations, and run side effects in your Go program"))
		return
	default:
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no such endpoint %q: livedb serves /api/query, /api/mutation, /api/function and /api/query_ts", r.URL.Path))
		return
	}
	c, err := s.httpCaller(r)
	if err != nil {
		s.refuse(w, r, http.StatusUnauthorized, "Unauthenticated", err.Error())
		return
	}
	req, status, err := s.readCall(w, r)
	if err != nil {
		s.refuse(w, r, status, "BadRequest", err.Error())
		return
	}
	args, err := decodeArgs(req.Args)
	if err != nil {
		writeJSON(w, statusFunctionFailed, errorResult(err.Error()))
		return
	}
	reg, name, err := s.resolve(req.Path, c, req.ComponentPath)
	if err != nil {
		writeJSON(w, statusFunctionFailed, errorResult(err.Error()))
		return
	}
	if kind == "" {
		kind = "query"
		if info, _ := reg.Function(name); info.Mutation { // resolve found it
			kind = "mutation"
		}
	}
	ctx := c.context(r.Context())
	var x any
	var ts uint64
	if kind == "query" {
		x, ts, err = reg.QueryPublic(ctx, s.db, name, args)
	} else {
		x, _, err = reg.MutatePublic(ctx, s.db, name, args)
	}
	if err == nil && req.TS != nil && strconv.FormatUint(ts, 10) != *req.TS {
		err = fmt.Errorf("livedb keeps no history: the query can only read the newest snapshot (timestamp %d), and timestamp %s is older; call it again", ts, *req.TS)
	}
	if err != nil {
		writeJSON(w, statusFunctionFailed, errorResult(functionError(err)))
		return
	}
	b, err := convexjson.Encode(x)
	if err != nil {
		writeJSON(w, statusFunctionFailed, errorResult(fmt.Errorf("the result of %s is not a Convex value: %w", req.Path, err).Error()))
		return
	}
	writeJSON(w, http.StatusOK, successResult{Status: "success", Value: b, LogLines: []string{}})
}

// readCall reads and parses the body of a call, bounded by
// MaxRequestBytes.
func (s *Server) readCall(w http.ResponseWriter, r *http.Request) (callRequest, int, error) {
	var req callRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is larger than the server's limit of %d bytes (server.Options.MaxRequestBytes)", tooBig.Limit)
		}
		return req, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return req, http.StatusBadRequest, fmt.Errorf("the request body is not a JSON object {path, args, format}: %w", err)
	}
	if req.Path == "" {
		return req, http.StatusBadRequest, errors.New("the request body has no \"path\" naming the function")
	}
	if req.Format != "" && req.Format != "convex_encoded_json" {
		return req, http.StatusBadRequest, fmt.Errorf("format %q is not supported: use \"convex_encoded_json\"", req.Format)
	}
	return req, 0, nil
}

// decodeArgs decodes a call's arguments: Convex-JSON, an object or an
// array holding one object (as Convex's clients send them); none is {}.
func decodeArgs(raw json.RawMessage) (livedb.Doc, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return livedb.Doc{}, nil
	}
	x, err := convexjson.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("the arguments are not Convex-JSON: %w", err)
	}
	if a, ok := x.([]any); ok {
		if len(a) != 1 {
			return nil, fmt.Errorf("the arguments must be an array of one object, not of %d values", len(a))
		}
		x = a[0]
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the arguments must be an object, not %s", describe(x))
	}
	return livedb.Doc(m), nil
}

// describe names the kind of a Convex value for an error message.
func describe(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case int64:
		return "a bigint"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", x)
}

// resolve finds the function of a client's path: a public function of the
// Registry, or for the admin one of the server's "_system/" queries.
func (s *Server) resolve(p string, c caller, componentPath *string) (*livedb.Registry, string, error) {
	if componentPath != nil && *componentPath != "" {
		return nil, "", fmt.Errorf("components are not supported: livedb serves one set of functions (componentPath %q)", *componentPath)
	}
	cp := canonicalPath(p)
	if len(cp) > len(systemPrefix) && cp[:len(systemPrefix)] == systemPrefix {
		if !c.admin {
			return nil, "", fmt.Errorf("'%s' reads raw tables and needs the admin key (Convex admin authentication)", p)
		}
		if _, ok := s.sys.Function(cp); !ok {
			return nil, "", errors.New(notFound(p))
		}
		return s.sys, cp, nil
	}
	name, ok := s.paths[cp]
	if !ok {
		return nil, "", errors.New(notFound(p))
	}
	return s.reg, name, nil
}

// functionError is the message a client gets for a failed call. The
// registry's own refusals (which resolve has already ruled out for
// unknown names) keep their text.
func functionError(err error) string {
	if errors.Is(err, livedb.ErrUnknownFunction) || errors.Is(err, livedb.ErrInternalFunction) {
		return "Could not find public function"
	}
	return err.Error()
}

// successResult and failedResult are the bodies ConvexHttpClient reads.
type successResult struct {
	Status   string          `json:"status"`
	Value    json.RawMessage `json:"value"`
	LogLines []string        `json:"logLines"`
}

type failedResult struct {
	Status       string   `json:"status"`
	ErrorMessage string   `json:"errorMessage"`
	LogLines     []string `json:"logLines"`
}

func errorResult(msg string) failedResult {
	return failedResult{Status: "error", ErrorMessage: msg, LogLines: []string{}}
}

// writeJSON writes x as the JSON body of a response.
func writeJSON(w http.ResponseWriter, status int, x any) {
	b, err := json.Marshal(x)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"InternalServerError","message":"the response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes the JSON error body {code, message} that Convex's
// HTTP API uses for a refused request.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

// setCORS lets an allowed cross-origin page call the HTTP API: the
// response names its origin, and a preflight learns the method and
// headers ConvexHttpClient sends. Same-origin and non-browser requests
// need nothing.
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Convex-Client")
	h.Set("Access-Control-Max-Age", "3600")
}
