package remote

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/livedb-go/livedb/internal/convexjson"
)

// This file holds the messages of Convex's sync protocol as they travel
// (protocol.ts of the convex npm package: ClientMessage and
// ServerMessage), and the decoder of what a server sends, which trusts
// nothing: every field is checked, and a breach is an error that says
// what was wrong.

// protocolVersion is the client version the sync URL names
// (/api/<version>/sync): the convex npm package whose protocol this
// client follows.
const protocolVersion = "1.51.0"

// stateVersion is where the client's view of the server stands
// (StateVersion): the query set and identity versions, and a timestamp.
type stateVersion struct {
	querySet, identity uint32
	ts                 uint64
}

// wireVersion is a stateVersion as it travels.
type wireVersion struct {
	QuerySet *uint32 `json:"querySet"`
	TS       *string `json:"ts"`
	Identity *uint32 `json:"identity"`
}

func (w *wireVersion) decode(field string) (stateVersion, error) {
	if w == nil || w.QuerySet == nil || w.TS == nil || w.Identity == nil {
		return stateVersion{}, fmt.Errorf("Transition: %s needs querySet, ts and identity", field)
	}
	ts, err := decodeTS(*w.TS)
	if err != nil {
		return stateVersion{}, fmt.Errorf("Transition: %s: %w", field, err)
	}
	return stateVersion{querySet: *w.QuerySet, identity: *w.Identity, ts: ts}, nil
}

// rawServerMessage is any message a server sends; Type says which fields
// matter.
type rawServerMessage struct {
	Type string `json:"type"`

	// Transition.
	StartVersion  *wireVersion      `json:"startVersion"`
	EndVersion    *wireVersion      `json:"endVersion"`
	Modifications []rawModification `json:"modifications"`

	// MutationResponse.
	RequestID *uint32         `json:"requestId"`
	Success   *bool           `json:"success"`
	Result    json.RawMessage `json:"result"`
	TS        *string         `json:"ts"`

	// AuthError and FatalError.
	Error string `json:"error"`
}

type rawModification struct {
	Type         string          `json:"type"`
	QueryID      *uint32         `json:"queryId"`
	Value        json.RawMessage `json:"value"`
	ErrorMessage *string         `json:"errorMessage"`
	Journal      *string         `json:"journal"`
}

// serverMessage is a decoded message of the server.
type serverMessage struct {
	kind string // Transition, MutationResponse, AuthError, FatalError, Ping

	// Transition.
	start, end stateVersion
	mods       []queryModification

	// MutationResponse.
	requestID uint32
	success   bool
	result    any    // the mutation's value, when success
	errorMsg  string // when not success; also AuthError's and FatalError's
	ts        uint64
}

// queryModification is one change of a Transition.
type queryModification struct {
	kind    string // QueryUpdated, QueryFailed, QueryRemoved
	queryID uint32
	value   any    // QueryUpdated
	raw     []byte // the value's text, to compare results
	errMsg  string // QueryFailed
	journal *string
}

// parseServerMessage decodes one message of a server.
func parseServerMessage(b []byte) (*serverMessage, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("the message is not a JSON object of the sync protocol: %w", err)
	}
	var r rawServerMessage
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("a %s message with fields of the wrong type: %w", head.Type, err)
	}
	m := &serverMessage{kind: r.Type}
	switch r.Type {
	case "Ping":
	case "Transition":
		var err error
		if m.start, err = r.StartVersion.decode("startVersion"); err != nil {
			return nil, err
		}
		if m.end, err = r.EndVersion.decode("endVersion"); err != nil {
			return nil, err
		}
		if m.end.ts < m.start.ts {
			return nil, fmt.Errorf("Transition: endVersion's timestamp %d is before startVersion's %d", m.end.ts, m.start.ts)
		}
		for i, raw := range r.Modifications {
			mod, err := parseModification(raw)
			if err != nil {
				return nil, fmt.Errorf("Transition: modification %d: %w", i, err)
			}
			m.mods = append(m.mods, mod)
		}
	case "MutationResponse":
		if r.RequestID == nil || r.Success == nil {
			return nil, errors.New("MutationResponse needs requestId and success")
		}
		m.requestID, m.success = *r.RequestID, *r.Success
		if !m.success {
			if err := json.Unmarshal(r.Result, &m.errorMsg); err != nil {
				return nil, fmt.Errorf("MutationResponse %d: a failure's result must be the error message, a string: %w", m.requestID, err)
			}
			break
		}
		if r.TS == nil {
			return nil, fmt.Errorf("MutationResponse %d: a success needs a ts", m.requestID)
		}
		ts, err := decodeTS(*r.TS)
		if err != nil {
			return nil, fmt.Errorf("MutationResponse %d: %w", m.requestID, err)
		}
		m.ts = ts
		if m.result, err = decodeValue(r.Result); err != nil {
			return nil, fmt.Errorf("MutationResponse %d: result: %w", m.requestID, err)
		}
	case "AuthError", "FatalError":
		m.errorMsg = r.Error
	case "ActionResponse":
		return nil, errors.New("an ActionResponse, but this client sends no actions")
	case "":
		return nil, errors.New("the message has no type")
	default:
		return nil, fmt.Errorf("unknown message type %q", r.Type)
	}
	return m, nil
}

func parseModification(raw rawModification) (queryModification, error) {
	mod := queryModification{kind: raw.Type, journal: raw.Journal}
	if raw.QueryID == nil {
		return mod, fmt.Errorf("%s has no queryId", raw.Type)
	}
	mod.queryID = *raw.QueryID
	switch raw.Type {
	case "QueryUpdated":
		x, err := decodeValue(raw.Value)
		if err != nil {
			return mod, fmt.Errorf("QueryUpdated of query %d: %w", mod.queryID, err)
		}
		mod.value, mod.raw = x, raw.Value
	case "QueryFailed":
		if raw.ErrorMessage == nil {
			return mod, fmt.Errorf("QueryFailed of query %d has no errorMessage", mod.queryID)
		}
		mod.errMsg = *raw.ErrorMessage
	case "QueryRemoved":
	default:
		return mod, fmt.Errorf("unknown state modification %q", raw.Type)
	}
	return mod, nil
}

// decodeValue decodes a Convex-JSON value; none is an error.
func decodeValue(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, errors.New("no value")
	}
	x, err := convexjson.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("the value is not Convex-JSON: %w", err)
	}
	return x, nil
}

// encodeTS is a timestamp as the protocol carries it: the base64 of its 8
// little-endian bytes (Convex's EncodedU64).
func encodeTS(ts uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], ts)
	return base64.StdEncoding.EncodeToString(b[:])
}

// decodeTS parses an encoded timestamp.
func decodeTS(s string) (uint64, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("timestamp %q is not the base64 of 8 bytes", s)
	}
	return binary.LittleEndian.Uint64(b), nil
}

// Messages the client sends.

type connectMessage struct {
	Type                 string  `json:"type"` // Connect
	SessionID            string  `json:"sessionId"`
	ConnectionCount      int     `json:"connectionCount"`
	LastCloseReason      *string `json:"lastCloseReason"`
	MaxObservedTimestamp *string `json:"maxObservedTimestamp,omitempty"`
}

type modifyQuerySet struct {
	Type          string `json:"type"` // ModifyQuerySet
	BaseVersion   uint32 `json:"baseVersion"`
	NewVersion    uint32 `json:"newVersion"`
	Modifications []any  `json:"modifications"`
}

type addQuery struct {
	Type    string          `json:"type"` // Add
	QueryID uint32          `json:"queryId"`
	UdfPath string          `json:"udfPath"`
	Args    json.RawMessage `json:"args"`
	Journal *string         `json:"journal,omitempty"`
}

type removeQuery struct {
	Type    string `json:"type"` // Remove
	QueryID uint32 `json:"queryId"`
}

type mutationMessage struct {
	Type      string          `json:"type"` // Mutation
	RequestID uint32          `json:"requestId"`
	UdfPath   string          `json:"udfPath"`
	Args      json.RawMessage `json:"args"`
}

type authenticateMessage struct {
	Type        string `json:"type"` // Authenticate
	BaseVersion uint32 `json:"baseVersion"`
	TokenType   string `json:"tokenType"`
	Value       string `json:"value"`
}

// encodeArgs is a call's arguments as Convex's clients send them: an
// array holding the Convex-JSON object.
func encodeArgs(args map[string]any) (json.RawMessage, error) {
	b, err := convexjson.Encode(args)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+2)
	out = append(out, '[')
	out = append(out, b...)
	return append(out, ']'), nil
}

// mustMarshal marshals a message of this file, whose fields always
// marshal.
func mustMarshal(x any) []byte {
	b, err := json.Marshal(x)
	if err != nil {
		panic("remote: a client message does not marshal: " + err.Error()) // a broken invariant
	}
	return b
}
