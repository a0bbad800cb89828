package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/dashboard"
)

// Default limits; see [Options].
const (
	DefaultMaxRequestBytes = 8 << 20
	DefaultMaxMessageBytes = 8 << 20
	DefaultWriteTimeout    = 30 * time.Second
)

// pingInterval is how often a session with nothing else to send sends a
// Ping, as Convex's server does; the client reconnects after 60 s of
// silence.
const pingInterval = 15 * time.Second

// Options configure a [Server]. The zero value serves public functions to
// anonymous clients of the server's own origin, with the admin surface
// off.
type Options struct {
	// Authenticator turns the token a client sends (the JWT of the Convex
	// client's setAuth, or an HTTP "Authorization: Bearer" header) into
	// the identity the functions see ([livedb.QueryCtx.Auth]). An error
	// refuses the token: the WebSocket client gets an AuthError, the HTTP
	// caller a 401, with the error's text. It runs on the session's
	// goroutine with the request's context: it may call out, but should
	// bound its own time. Nil means every caller is anonymous and a client
	// that sends a token is refused.
	Authenticator func(ctx context.Context, token string) (*livedb.Identity, error)
	// AdminKey, when set, opens the dashboard and the read-only raw table
	// queries ("_system/livedb:*") to clients that present it. Empty
	// turns them off. Use a long random string, and serve over TLS beyond
	// loopback: the key travels in every admin request.
	AdminKey string
	// AllowedOrigins lists the origins whose browser pages may use the
	// server, besides the server's own host: host patterns ("app.example.com",
	// "*.example.com", "localhost:5173") or, with a scheme,
	// "https://app.example.com", matched with path.Match as
	// github.com/coder/websocket does. A request without an Origin header
	// (a program, not a browser) is not checked.
	AllowedOrigins []string
	// MaxRequestBytes bounds the body of an HTTP call; 0 means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// MaxMessageBytes bounds one WebSocket message from a client; 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// WriteTimeout bounds how long one message to a client may take to
	// send: a client that does not read for that long is disconnected. 0
	// means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Logger receives the server's log: sessions opened and closed,
	// refused requests, failed writes. Nil means silent.
	Logger *slog.Logger
}

// Server serves a DB and a Registry over HTTP and WebSockets. It is an
// [http.Handler]; see the package documentation for its paths.
//
// A Server is safe for concurrent use. Close ends its WebSocket sessions,
// which an http.Server does not track (they are hijacked connections).
type Server struct {
	db   *livedb.DB
	reg  *livedb.Registry
	sys  *livedb.Registry // the admin-only "_system/livedb:*" queries
	opts Options
	log  *slog.Logger

	paths     map[string]string // canonical path -> Registry name
	dashboard http.Handler      // nil when off
	mutations *mutationLog

	// pingInterval is pingInterval; tests shorten it.
	pingInterval time.Duration

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup // the sessions' goroutines
}

// newDashboard makes the dashboard's handler (package internal/dashboard,
// which checks the admin key on every API request itself); a variable so
// that tests can mount another handler.
var newDashboard = func(db *livedb.DB, reg *livedb.Registry, adminKey string, logger *slog.Logger) http.Handler {
	return dashboard.New(db, reg, dashboard.Options{AdminKey: adminKey, Logger: logger})
}

// New returns a server of db's public functions in reg. reg may be nil (no
// functions: only the admin surface). It fails for options out of range,
// an origin pattern path.Match rejects, and two public functions whose
// paths are the same after canonicalization ("tasks" and "tasks:default")
// or that use the server's "_system/" prefix.
func New(db *livedb.DB, reg *livedb.Registry, opts Options) (*Server, error) {
	if db == nil {
		return nil, errors.New("server: New: db is nil")
	}
	if reg == nil {
		reg, _ = livedb.NewRegistry()
	}
	switch {
	case opts.MaxRequestBytes < 0:
		return nil, fmt.Errorf("server: New: MaxRequestBytes is negative (%d)", opts.MaxRequestBytes)
	case opts.MaxMessageBytes < 0:
		return nil, fmt.Errorf("server: New: MaxMessageBytes is negative (%d)", opts.MaxMessageBytes)
	case opts.WriteTimeout < 0:
		return nil, fmt.Errorf("server: New: WriteTimeout is negative (%v)", opts.WriteTimeout)
	}
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxMessageBytes == 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	for _, p := range opts.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("server: New: AllowedOrigins pattern %q: %w", p, err)
		}
	}
	s := &Server{
		db:           db,
		reg:          reg,
		sys:          systemRegistry(db),
		opts:         opts,
		log:          opts.Logger,
		paths:        map[string]string{},
		mutations:    newMutationLog(mutationLogBytes),
		pingInterval: pingInterval,
		sessions:     map[*session]struct{}{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, name := range reg.Names() {
		p := canonicalPath(name)
		if strings.HasPrefix(p, systemPrefix) {
			return nil, fmt.Errorf("server: New: function %q: the path prefix %q is the server's own", name, systemPrefix)
		}
		if other, dup := s.paths[p]; dup {
			return nil, fmt.Errorf("server: New: functions %q and %q have the same path %q", other, name, p)
		}
		s.paths[p] = name
	}
	if opts.AdminKey != "" && newDashboard != nil {
		s.dashboard = newDashboard(db, reg, opts.AdminKey, s.log)
	}
	return s, nil
}

// ServeHTTP serves the sync WebSocket (/api/<version>/sync), the HTTP
// calls (/api/query, /api/mutation, /api/function, /api/query_ts), and
// the dashboard (/dashboard/) when an admin key is set. Paths are those
// of the URL the server is mounted at.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/") && strings.HasSuffix(p, "/sync") && strings.Count(p, "/") == 3:
		s.serveSync(w, r)
	case strings.HasPrefix(p, "/api/"):
		s.serveCall(w, r)
	case p == "/dashboard" || strings.HasPrefix(p, "/dashboard/"):
		s.serveDashboard(w, r)
	default:
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no such path %q: this is a livedb server; Convex clients use /api/..., the dashboard is at /dashboard/", p))
	}
}

func (s *Server) serveDashboard(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.opts.AdminKey == "":
		writeError(w, http.StatusNotFound, "DashboardOff", "the dashboard is off: the server has no admin key (Options.AdminKey, or livedb serve -admin-key)")
	case r.URL.Path == "/dashboard":
		http.Redirect(w, r, "dashboard/", http.StatusFound)
	default:
		if err := s.checkOrigin(r); err != nil {
			s.refuse(w, r, http.StatusForbidden, "Forbidden", err.Error())
			return
		}
		http.StripPrefix("/dashboard", s.dashboard).ServeHTTP(w, r)
	}
}

// Close ends every WebSocket session (clients see the connection close
// with "going away" and reconnect) and waits for their goroutines: at
// most about 5 s for a client that does not answer the close, plus a
// message being written to it (Options.WriteTimeout). Later WebSocket
// requests are refused. It does not close the DB. HTTP calls in progress
// are the http.Server's to end (see http.Server.Shutdown). Close is
// idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.shutdown()
	}
	s.wg.Wait()
	return nil
}

// Sessions returns the number of open WebSocket sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// refuse logs a refused request and answers it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.log.Info("livedb server: refused request", "path", r.URL.Path, "remote", r.RemoteAddr, "status", status, "reason", msg)
	writeError(w, status, code, msg)
}
