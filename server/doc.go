// Package server is livedb's network face: an [http.Handler] that serves a
// [livedb.DB] and the public functions of a [livedb.Registry] over the
// Convex sync protocol, so that Convex's official clients (ConvexClient
// and ConvexHttpClient from the convex npm package, and React's useQuery
// through ConvexReactClient) work against it unchanged, with no Convex
// deployment.
//
// The package owns the wire: the WebSocket session at /api/<version>/sync
// (Connect, ModifyQuerySet, Mutation, Authenticate and Event from the
// client; Transition, MutationResponse, AuthError, FatalError and Ping
// from the server), the one-shot HTTP endpoints /api/query,
// /api/mutation and /api/function, the mapping of function paths to
// Registry names, authentication, the admin key, and the limits that keep
// one client from hurting others. It is a client of livedb's public API
// ([livedb.Registry.SubscribePublic], [livedb.Registry.MutatePublic],
// [livedb.DB.WaitSubscriptions]), never a back door into the engine.
// Values travel as Convex-JSON: an Int64 is a bigint in JavaScript and
// Bytes an ArrayBuffer.
//
// # Mounting
//
// A program mounts the server in its own mux, as net/http/pprof is:
//
//	srv, err := server.New(db, reg, server.Options{AdminKey: os.Getenv("LIVEDB_ADMIN_KEY")})
//	if err != nil { ... }
//	defer srv.Close()
//	mux.Handle("/", srv)                                     // at the root, or
//	mux.Handle("/convex/", http.StripPrefix("/convex", srv)) // under a prefix
//
// and a Convex client is pointed at the URL the server is mounted at
// (new ConvexReactClient("http://127.0.0.1:8080/convex")).
//
// # Function paths
//
// A Registry name is a Convex function path: "tasks:list" is the function
// list of module tasks, and the client's api.tasks.list calls it. Paths
// are compared after Convex's canonicalization, so a name without a colon
// is the module's default export ("tasks" is served as "tasks:default")
// and a ".js" after the module is ignored ("tasks.js:list" is
// "tasks:list"). Names under "_system/" are the server's own.
//
// # Who may do what
//
//   - Public functions are open to every client that reaches the server,
//     as far as the functions themselves allow: each runs with the
//     caller's identity ([livedb.QueryCtx.Auth]), which the Authenticator
//     of [Options] makes from the client's token (a JWT from the client's
//     setAuth, or "Authorization: Bearer" over HTTP). Without an
//     Authenticator every caller is anonymous, and a client that sends a
//     token is refused.
//   - Internal functions ([livedb.FunctionDef.Internal]) are never served:
//     a client is told that no public function has that path, as an
//     unknown one is, so that their names do not leak.
//   - The admin key ([Options.AdminKey]) opens what bypasses the function
//     layer: the dashboard and the read-only "_system/livedb:*" queries of
//     raw tables. They are off when no key is configured. A client proves
//     the key with Convex's admin authentication (setAdminAuth over the
//     WebSocket, "Authorization: Convex <key>" over HTTP). The key does
//     not open internal functions.
//   - A browser's WebSocket or HTTP request whose Origin is neither the
//     server's own host nor in [Options.AllowedOrigins] is refused (403),
//     so that a page on another site cannot use a visitor's browser.
//   - Request bodies and WebSocket messages are bounded
//     ([Options.MaxRequestBytes], [Options.MaxMessageBytes]); a client
//     that sends more is refused with the limit named.
//
// A malformed message ends its own session with a FatalError that says
// what was wrong; a function that fails, an unknown path or arguments of
// the wrong type fail that one call (QueryFailed, a failed
// MutationResponse, or an HTTP error) and the session goes on. No input
// stops the server.
//
// # Sessions
//
// Each query a client subscribes to is a livedb subscription. Its results
// are coalesced per session: a session keeps only the newest result of
// each query until it is sent, so a client that reads slowly or not at
// all costs bounded memory, never slows writers or other clients, and is
// closed when a message waits longer than [Options.WriteTimeout]. A
// Transition to timestamp T carries every result that changed since the
// previous one; every result in it reflects every commit up to T. After a
// mutation, the session sends its MutationResponse and then a Transition
// that reaches the mutation's commit timestamp, so the client's promise
// resolves once its queries show the write, as with Convex.
//
// Mutations of one session run one at a time, in order. A client that
// reconnects re-sends the mutations it has no Transition for; the server
// answers a mutation it already ran (same session and request id, same
// identity) with the first answer instead of running it again, for as
// long as it remembers the answer: within the process, a bounded number
// of them. A mutation re-sent to a restarted server runs again.
package server
