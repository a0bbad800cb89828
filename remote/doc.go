// Package remote is livedb's Go client of a livedb server (package
// server), and the common face of a database reached by network or
// embedded in the process, so that a program can pick one by
// configuration.
//
// The package owns the client side of Convex's sync protocol: a
// WebSocket session ([Dial]) that subscribes to queries, runs mutations
// and resumes both after the server goes away; one-shot queries over
// HTTP; the mapping of Convex-JSON to Go values; and [Local], the adapter
// that offers an embedded [livedb.DB] and [livedb.Registry] through the
// same [Backend] interface.
//
// # Values
//
// Arguments are a [livedb.Doc], a map[string]any, or a struct that
// [livedb.ToDoc] converts (nil means no arguments). They travel as
// Convex-JSON: an int64 is an Int64 (v.Int64()), and Go's other integer
// kinds and floats are Float64 numbers (v.Float64(), v.Number()), as a
// JavaScript client sends them. Results are Convex values as
// [v.JSONToConvex] returns them: nil, bool, int64, float64,
// string, []byte, []any and map[string]any. An ID is a string (a
// [livedb.Doc]'s ID method reads it). [Local] gives the same types, so
// code that reads results works with both backends; [Decode],
// [QueryValue] and [MutationValue] convert a result into a Go type with
// [livedb.FromDoc]'s rules.
//
// # Errors
//
// A function that fails, refuses its arguments or does not exist as a
// public function is a [*FunctionError] (errors.Is(err,
// ErrFunctionNotFound) for the last). A lost or refused connection is a
// [*TransportError] (ErrDisconnected, or ErrProtocol for a server that
// sends what the protocol does not allow), and refused credentials an
// [*AuthError].
//
// # Reconnecting
//
// A Client that loses its connection tells every subscription with an
// update whose Err matches ErrDisconnected, then reconnects with
// exponential backoff and jitter ([Options.MinBackoff],
// [Options.MaxBackoff]) under the same session id, subscribes again to
// every query (with the page ends of paginated ones) and re-sends the
// mutations that have no answer yet with their request ids, as Convex's
// own client does: a livedb server that still remembers a mutation
// answers it without running it twice. A server that restarted has
// forgotten: a mutation re-sent to it runs again.
package remote
