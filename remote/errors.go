package remote

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels, matched with errors.Is.
var (
	// ErrFunctionNotFound is returned for a name with no public function:
	// unknown or internal (a server does not say which, so that the names
	// of internal functions do not leak). The error is a *FunctionError.
	ErrFunctionNotFound = errors.New("remote: no public function of that name")
	// ErrDisconnected is matched by a *TransportError for a connection
	// that was lost or could not be made. A Client reconnects by itself;
	// subscriptions receive it as an update and resume.
	ErrDisconnected = errors.New("remote: disconnected from the server")
	// ErrProtocol is matched by a *TransportError for a message from the
	// server that breaks the sync protocol (malformed, too large, out of
	// order). The Client drops the connection and reconnects.
	ErrProtocol = errors.New("remote: the server broke the sync protocol")
	// ErrRefused is matched by a *TransportError for a request the server
	// refused (an HTTP error other than a function's failure or an
	// authentication's): too large, not allowed from this origin, ...
	ErrRefused = errors.New("remote: the server refused the request")
	// ErrClosed is returned by the calls of a closed Client or Backend.
	ErrClosed = errors.New("remote: client is closed")
)

// notFoundPrefix starts the message of a server (livedb's or Convex's)
// that has no public function of the name.
const notFoundPrefix = "Could not find public function"

// FunctionError is the failure of a function the server (or the embedded
// database) ran or refused to run: the function's own error, arguments of
// the wrong type, a result its validator refused, or no such public
// function (then errors.Is(err, ErrFunctionNotFound)). The connection is
// fine: other calls go on.
type FunctionError struct {
	// Function is the name that was called.
	Function string
	// Message is the server's text for the failure, as a Convex client
	// would show it.
	Message string
	// Err is the embedded database's error (for [Local]); nil for a
	// remote one, whose errors travel as text.
	Err      error
	notFound bool
}

// Error returns "remote: function NAME failed: MESSAGE".
func (e *FunctionError) Error() string {
	return fmt.Sprintf("remote: function %s failed: %s", e.Function, e.Message)
}

// Unwrap returns the embedded database's error, and ErrFunctionNotFound
// when there is no public function of the name.
func (e *FunctionError) Unwrap() []error {
	var out []error
	if e.notFound {
		out = append(out, ErrFunctionNotFound)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// newFunctionError is the error of a function that failed on the server
// with msg.
func newFunctionError(name, msg string) *FunctionError {
	return &FunctionError{Function: name, Message: msg, notFound: strings.HasPrefix(msg, notFoundPrefix)}
}

// AuthError is a refusal of the client's credentials: the server's
// authenticator rejected the token (or the server takes none). The
// Client keeps reconnecting with a fresh token from
// [Options.AuthTokenFunc]; subscriptions receive the error as an update
// meanwhile.
type AuthError struct {
	// Message is the server's reason.
	Message string
}

// Error returns "remote: authentication refused: MESSAGE".
func (e *AuthError) Error() string { return "remote: authentication refused: " + e.Message }

// TransportError is a failure of the connection to the server, not of a
// function: errors.Is matches ErrDisconnected or ErrProtocol, and the
// cause.
type TransportError struct {
	// Op says what was going on: "dial", "read", "query", ...
	Op string
	// URL is the server's.
	URL  string
	kind error // ErrDisconnected or ErrProtocol
	Err  error
}

// Error returns "remote: OP URL: KIND: CAUSE".
func (e *TransportError) Error() string {
	msg := fmt.Sprintf("remote: %s %s: %s", e.Op, e.URL, strings.TrimPrefix(e.kind.Error(), "remote: "))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the kind (ErrDisconnected or ErrProtocol) and the cause.
func (e *TransportError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.Err}
}
