package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/livedb-go/livedb"
)

// Options configure the dashboard.
type Options struct {
	// AdminKey is the secret every API request must carry as
	// "Authorization: Bearer <AdminKey>". Empty turns the dashboard off:
	// every request is refused. Use a long random key (32 bytes or more,
	// for example base64 of crypto/rand output): anyone who has it reads
	// every document and runs every public function.
	AdminKey string
	// Logger receives a line for each request that fails on the server's
	// side (a storage error, a function that panicked), for each wrong
	// key, and, from New, one when the dashboard is off. Nil means no
	// logging.
	Logger *slog.Logger
}

// maxRequestBytes bounds the body of an API request: a query, or a
// function's arguments typed into a form.
const maxRequestBytes = 1 << 20

//go:embed static
var staticFiles embed.FS

// handler is the dashboard. It is safe for concurrent use.
type handler struct {
	db     *livedb.DB
	reg    *livedb.Registry // nil: no functions
	keySum [sha256.Size]byte
	log    *slog.Logger
	counts *counter
	mux    *http.ServeMux
}

// New returns the dashboard of db and of the functions of reg (nil means
// none) as an http.Handler. The handler serves the page at "/" and its API
// under "/api/"; mount it with [http.StripPrefix] (see the package doc).
// With an empty opts.AdminKey the returned handler refuses every request
// with 403 Forbidden: the dashboard is off.
//
// The handler holds no goroutine; each live view it streams holds one, and
// a subscription or change feed of db, until its request ends or db
// closes.
func New(db *livedb.DB, reg *livedb.Registry, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.AdminKey == "" {
		log.Warn("livedb dashboard: no admin key configured: the dashboard is off")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusForbidden, "dashboard_off", "the livedb dashboard is off: no admin key is configured")
		})
	}
	h := &handler{
		db:     db,
		reg:    reg,
		keySum: sha256.Sum256([]byte(opts.AdminKey)),
		log:    log,
		counts: newCounter(db),
		mux:    http.NewServeMux(),
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic("dashboard: embedded files: " + err.Error()) // the embed directive guarantees the folder
	}
	files := http.FileServerFS(static)
	h.mux.Handle("GET /{$}", files)
	h.mux.Handle("GET /app.js", files)
	h.mux.Handle("GET /style.css", files)
	h.mux.Handle("GET /favicon.svg", files)
	h.api("GET /api/tables", h.tables)
	h.api("POST /api/documents", h.documents)
	h.api("POST /api/live", h.live)
	h.api("GET /api/changes", h.changes)
	h.api("GET /api/functions", h.functions)
	h.api("POST /api/run", h.run)
	h.api("GET /api/health", h.health)
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(w, r) {
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no API endpoint "+r.Method+" "+r.URL.Path)
	})
	return h
}

// ServeHTTP serves the page and the API.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	// The page loads only its own files, cannot be framed by another site,
	// and nothing is cached: the API's answers hold the database's data.
	hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-store")
	if !strings.HasPrefix(r.URL.Path, "/") {
		// Mounted with StripPrefix of the prefix and its slash: "" is the
		// page when the browser asked for ".../", else the browser must
		// come back with the slash for the page's relative URLs to work.
		if r.URL.Path == "" && !strings.HasSuffix(requestPath(r), "/") {
			http.Redirect(w, r, requestPath(r)+"/", http.StatusMovedPermanently)
			return
		}
		r2 := *r
		u := *r.URL
		u.Path = "/" + u.Path
		u.RawPath = ""
		r2.URL = &u
		r = &r2
	}
	h.mux.ServeHTTP(w, r)
}

// requestPath returns the path the client asked for, before any
// StripPrefix.
func requestPath(r *http.Request) string {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	if p == "" {
		p = "/"
	}
	return p
}

// api registers an API endpoint behind the admin key check.
func (h *handler) api(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(w, r) {
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
		}
		fn(w, r)
	})
}

// authorized checks the request's admin key, in time independent of the
// key's contents and of how much of it matches: both sides are hashed to
// a fixed size first. On failure it answers 401 and returns false.
func (h *handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(auth, " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
		if subtle.ConstantTimeCompare(sum[:], h.keySum[:]) == 1 {
			return true
		}
	}
	msg := "this livedb dashboard API needs the admin key: send the header \"Authorization: Bearer <key>\""
	if auth != "" {
		msg = "wrong admin key for this livedb dashboard"
		h.log.Warn("livedb dashboard: refused a wrong admin key", "remote", r.RemoteAddr, "path", r.URL.Path)
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="livedb dashboard"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", msg)
	return false
}
