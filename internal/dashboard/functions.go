package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vconform"
)

// functionInfo describes a function of the Registry for the page.
type functionInfo struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Internal bool   `json:"internal"`
	// Args and Returns are the validators as v prints them; empty when
	// the function does not validate them.
	Args    string `json:"args,omitempty"`
	Returns string `json:"returns,omitempty"`
}

// functionsReply is the answer of GET /api/functions.
type functionsReply struct {
	Functions []functionInfo `json:"functions"`
}

// functions answers GET /api/functions: every function of the Registry,
// internal ones marked (the page lists them but cannot run them).
func (h *handler) functions(w http.ResponseWriter, r *http.Request) {
	reply := functionsReply{Functions: []functionInfo{}}
	if h.reg != nil {
		for _, f := range h.reg.Functions() {
			fi := functionInfo{Name: f.Name, Kind: kindOf(f), Internal: f.Internal}
			if f.Args != nil {
				fi.Args = f.Args.String()
			}
			if f.Returns != nil {
				fi.Returns = f.Returns.String()
			}
			reply.Functions = append(reply.Functions, fi)
		}
	}
	writeJSON(w, http.StatusOK, reply)
}

// runRequest is the body of POST /api/run: a function's name and its
// arguments, a Convex-JSON object (absent means {}).
type runRequest struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// runReply is the answer of POST /api/run.
type runReply struct {
	Kind string `json:"kind"`
	// Value is the function's result in Convex-JSON.
	Value json.RawMessage `json:"value"`
	// Timestamp is the last commit after the call: a mutation's writes
	// are at or before it.
	Timestamp uint64 `json:"timestamp,string"`
}

// run answers POST /api/run: it runs a public function through
// [livedb.Registry.CallPublic], with no identity. Internal functions are
// refused (403), as over the network.
func (h *handler) run(w http.ResponseWriter, r *http.Request) {
	var req runRequest
	if err := decodeBody(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.Name == "" {
		h.fail(w, r, badRequest("no function name"))
		return
	}
	var info livedb.FunctionInfo
	ok := false
	if h.reg != nil {
		info, ok = h.reg.Function(req.Name)
	}
	if !ok {
		h.fail(w, r, fmt.Errorf("%w: %q", livedb.ErrUnknownFunction, req.Name))
		return
	}
	args := map[string]any{}
	if len(req.Args) > 0 && string(req.Args) != "null" {
		x, err := convexjson.Decode(req.Args)
		if err != nil {
			h.fail(w, r, fmt.Errorf("livedb dashboard: arguments of %s: %w", req.Name, err))
			return
		}
		m, isObject := x.(map[string]any)
		if !isObject {
			k, _ := value.KindOf(x)
			h.fail(w, r, badRequest("arguments of %s: an object of named arguments, not a %s", req.Name, k))
			return
		}
		args = m
	}
	// An identity-free context: the dashboard runs functions as no user.
	result, err := h.reg.CallPublic(livedb.WithIdentity(r.Context(), nil), h.db, req.Name, livedb.Doc(args))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := resultJSON(info, result)
	if err != nil {
		h.fail(w, r, fmt.Errorf("livedb dashboard: result of %s: %w", req.Name, err))
		return
	}
	writeJSON(w, http.StatusOK, runReply{Kind: kindOf(info), Value: b, Timestamp: h.db.LastTimestamp()})
}

// resultJSON returns the Convex-JSON of a function's Go result: converted
// as a document field would be (structs by their json tags, IDs as
// strings, a nil pointer as null), then conformed to the returns
// validator, if any, so that a Go int the validator calls v.Float64()
// shows as a Float64.
func resultJSON(info livedb.FunctionInfo, result any) (json.RawMessage, error) {
	x, present, err := codec.Encode(reflect.ValueOf(result))
	if err != nil {
		return nil, err
	}
	if !present {
		x = nil
	}
	if info.Returns != nil && info.Returns.Kind() != "any" {
		if x, err = vconform.Conform(info.Returns, x, nil); err != nil {
			return nil, err
		}
	}
	return convexJSON(x)
}

// kindOf is a function's kind as the page shows it: "query" or
// "mutation".
func kindOf(f livedb.FunctionInfo) string {
	if f.Mutation {
		return "mutation"
	}
	return "query"
}
