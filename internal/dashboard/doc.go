// Package dashboard serves livedb's web dashboard: an [http.Handler] that
// shows one [livedb.DB] and the functions of its [livedb.Registry] to an
// administrator in a browser. It owns the page (HTML, CSS and JavaScript
// embedded in the binary: no build step, nothing fetched from the
// internet) and the JSON API behind it:
//
//   - the tables with their document counts and indexes;
//   - a paged document browser per table, with an index range (equalities
//     on the leading fields of an index, bounds on the next, as
//     [livedb.Query.WithIndex] takes them);
//   - the same page as a live query, re-sent whenever a commit changes it;
//   - the change feed as a live log;
//   - the functions of the Registry, with a form that runs public ones;
//   - the health of the database: commits, commit rate, conflicts and open
//     subscriptions, from [livedb.DB.Stats].
//
// # Mounting
//
// The handler serves its page at "/" and its API under "/api/", relative
// to where it is mounted; the page uses relative URLs only. Mount it under
// a prefix with [http.StripPrefix], the prefix without its final slash:
//
//	mux.Handle("/dashboard/", http.StripPrefix("/dashboard", dashboard.New(db, reg, opts)))
//
// A request for the bare prefix ("/dashboard") is redirected to
// "/dashboard/". Live views are streamed (Server-Sent Events read with
// fetch) for as long as the page is open: a server that mounts the
// handler must not set a WriteTimeout on these requests, and
// [http.Server.Shutdown] waits for them until its context ends (they end
// at once when the DB closes).
//
// # Admin key
//
// Everything the API returns or does needs the admin key of
// [Options.AdminKey], sent as "Authorization: Bearer <key>"; without it, or
// with a wrong one, every API request is refused with 401 Unauthorized.
// Keys are compared in constant time. The page itself (static files, no
// data) loads without the key and asks for it once; it keeps it in the
// tab's sessionStorage, so closing the tab forgets it, and sends it as that
// header on every call, live streams included (they are read with fetch,
// not EventSource, so that no key goes into a URL or a cookie). No cookie
// is used at all, so another site cannot make a browser act with the key
// (no CSRF), and the API sets no CORS headers.
//
// With an empty AdminKey the dashboard is off: New returns a handler that
// refuses every request, page included, with 403 Forbidden.
//
// The admin key is a full-power secret: whoever holds it reads every
// document and runs every public function (with no identity). It cannot
// run [livedb.FunctionDef.Internal] functions, and the dashboard has no
// raw writes: data changes only through public functions.
//
// # Cost
//
// No request loads a whole table. A page of documents reads only that
// page, at most 1,000 documents and about 4 MiB; a change feed event
// carries at most 100 changes and about 1 MiB. Document counts walk each table's by_creation_time index keys
// (no document is decoded); on a 100,000-document table a count costs
// about as much as 15 pages of 50 documents (BenchmarkHandler_Tables and
// BenchmarkHandler_Documents, side by side). Counts are cached: a count
// is reused while no commit has landed, and
// recounted after commits at most once per second or per twenty times the
// last count's duration, whichever is longer, so counting stays under
// about 5% of one core however large the tables grow. The tables view says
// when a count is older than the last commit.
package dashboard
