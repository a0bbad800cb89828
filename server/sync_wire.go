package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// This file holds the messages of Convex's sync protocol as they travel
// (the client's protocol.ts: ClientMessage and ServerMessage).

// clientMessage is any message a client sends; Type says which fields
// matter.
type clientMessage struct {
	Type string `json:"type"`

	// Connect.
	SessionID            string  `json:"sessionId"`
	ConnectionCount      int     `json:"connectionCount"`
	LastCloseReason      *string `json:"lastCloseReason"`
	MaxObservedTimestamp *string `json:"maxObservedTimestamp"`

	// ModifyQuerySet and Authenticate.
	BaseVersion   *uint32                `json:"baseVersion"`
	NewVersion    *uint32                `json:"newVersion"`
	Modifications []querySetModification `json:"modifications"`

	// Mutation and Action.
	RequestID     *uint32         `json:"requestId"`
	UdfPath       string          `json:"udfPath"`
	Args          json.RawMessage `json:"args"`
	ComponentPath *string         `json:"componentPath"`

	// Authenticate.
	TokenType     string         `json:"tokenType"`
	Value         string         `json:"value"`
	Impersonating map[string]any `json:"impersonating"`

	// Event.
	EventType string `json:"eventType"`

	size int // bytes on the wire, for the mutation backlog
}

// querySetModification is an Add or a Remove of ModifyQuerySet.
type querySetModification struct {
	Type          string          `json:"type"`
	QueryID       *uint32         `json:"queryId"`
	UdfPath       string          `json:"udfPath"`
	Args          json.RawMessage `json:"args"`
	Journal       *string         `json:"journal"`
	ComponentPath *string         `json:"componentPath"`
}

// parseClientMessage decodes one message, refusing what the protocol
// does not allow with an error that says what is wrong.
func parseClientMessage(b []byte) (*clientMessage, error) {
	var m clientMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the message is not a JSON object of the sync protocol: %w", err)
	}
	m.size = len(b)
	switch m.Type {
	case "Connect", "Event":
	case "ModifyQuerySet":
		if m.BaseVersion == nil || m.NewVersion == nil {
			return nil, errors.New("ModifyQuerySet needs baseVersion and newVersion")
		}
		for i, mod := range m.Modifications {
			if mod.QueryID == nil {
				return nil, fmt.Errorf("ModifyQuerySet: modification %d has no queryId", i)
			}
			if mod.Type != "Add" && mod.Type != "Remove" {
				return nil, fmt.Errorf("ModifyQuerySet: modification %d has type %q, not Add or Remove", i, mod.Type)
			}
		}
	case "Mutation", "Action":
		if m.RequestID == nil {
			return nil, fmt.Errorf("%s needs a requestId", m.Type)
		}
	case "Authenticate":
		if m.BaseVersion == nil {
			return nil, errors.New("Authenticate needs a baseVersion")
		}
		switch m.TokenType {
		case "User", "Admin", "None":
		default:
			return nil, fmt.Errorf("Authenticate has tokenType %q, not User, Admin or None", m.TokenType)
		}
	case "":
		return nil, errors.New("the message has no type")
	default:
		return nil, fmt.Errorf("unknown message type %q (livedb speaks Connect, ModifyQuerySet, Mutation, Action, Authenticate and Event)", m.Type)
	}
	return &m, nil
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

// stateVersion is where a client's view stands (StateVersion).
type stateVersion struct {
	QuerySet uint32 `json:"querySet"`
	TS       string `json:"ts"`
	Identity uint32 `json:"identity"`
}

type transitionMessage struct {
	Type          string       `json:"type"`
	StartVersion  stateVersion `json:"startVersion"`
	EndVersion    stateVersion `json:"endVersion"`
	Modifications []any        `json:"modifications"` // the three below
}

type queryUpdated struct {
	Type     string          `json:"type"` // QueryUpdated
	QueryID  uint32          `json:"queryId"`
	Value    json.RawMessage `json:"value"`
	LogLines []string        `json:"logLines"`
	Journal  json.RawMessage `json:"journal"` // a JSON string or null
}

type queryFailed struct {
	Type         string          `json:"type"` // QueryFailed
	QueryID      uint32          `json:"queryId"`
	ErrorMessage string          `json:"errorMessage"`
	LogLines     []string        `json:"logLines"`
	Journal      json.RawMessage `json:"journal"`
}

type queryRemoved struct {
	Type    string `json:"type"` // QueryRemoved
	QueryID uint32 `json:"queryId"`
}

type mutationResponse struct {
	Type      string          `json:"type"`
	RequestID uint32          `json:"requestId"`
	Success   bool            `json:"success"`
	Result    json.RawMessage `json:"result"`
	TS        string          `json:"ts,omitempty"`
	LogLines  []string        `json:"logLines"`
}

type actionResponse struct {
	Type      string   `json:"type"`
	RequestID uint32   `json:"requestId"`
	Success   bool     `json:"success"`
	Result    string   `json:"result"`
	LogLines  []string `json:"logLines"`
}

type authErrorMessage struct {
	Type                string `json:"type"`
	Error               string `json:"error"`
	BaseVersion         uint32 `json:"baseVersion"`
	AuthUpdateAttempted bool   `json:"authUpdateAttempted"`
}

type fatalErrorMessage struct {
	Type  string `json:"type"`
	Error string `json:"error"`
}

// pingMessage is the whole Ping.
var pingMessage = []byte(`{"type":"Ping"}`)

// jsonString returns s as JSON text.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// encodeJournal is a query's page ends as a QueryJournal: null when it
// has none, else a string holding their JSON array.
func encodeJournal(j []string) json.RawMessage {
	if len(j) == 0 {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(j) // strings always marshal
	return jsonString(string(b))
}

// maxJournalEntries bounds the page ends a journal may carry.
const maxJournalEntries = 1024

// decodeJournal parses a journal a client sends back. The page ends it
// holds are checked by the query they are given to: a forged one is an
// invalid cursor.
func decodeJournal(j *string) ([]string, error) {
	if j == nil || *j == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(*j), &out); err != nil {
		return nil, fmt.Errorf("the query journal is not one this server wrote: %w", err)
	}
	if len(out) > maxJournalEntries {
		return nil, fmt.Errorf("the query journal has %d page ends, more than %d", len(out), maxJournalEntries)
	}
	return out, nil
}
