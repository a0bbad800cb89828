package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/livedb-go/livedb/server"
)

// defaultServeAddr is where serve listens unless told otherwise: loopback
// only, so that nothing on the network reaches a database by accident.
const defaultServeAddr = "127.0.0.1:8187"

var serveCommand = &command{
	name:    "serve",
	summary: "serve the database over HTTP: the dashboard and raw read-only queries, behind an admin key",
	detail: `serve runs livedb's server (package server) on the database, as a
Convex deployment would be reached: Convex clients connect to the URL it
prints, and the dashboard is at /dashboard/.

A standalone server has no Go functions: functions are Go code that a
program registers and serves itself (server.New with its livedb.Registry).
What serve offers is behind the admin key: the dashboard, and the
read-only raw queries _system/livedb:tables, _system/livedb:documents and
_system/livedb:get (Convex admin authentication: setAdminAuth, or
"Authorization: Convex <key>" over HTTP). Without -admin-key (or
LIVEDB_ADMIN_KEY) serve makes a random key and prints it.

serve listens on loopback (` + defaultServeAddr + `) unless -addr says otherwise;
beyond loopback, put it behind TLS. The file is opened read-only by
default, which also keeps programs that write it out while serve runs
(bbolt allows one writer, and no reader beside it).

A shared database (a postgres:// URL) is served as one more process of it,
beside the programs that write it: the dashboard and Convex clients see
their commits live.`,
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		o := &serveFlags{}
		fs.StringVar(&o.addr, "addr", defaultServeAddr, "`host:port` to listen on; 0.0.0.0:8187 opens it to the network")
		fs.StringVar(&o.adminKey, "admin-key", "", "the admin `key` (default $LIVEDB_ADMIN_KEY, else a random key, printed)")
		fs.Var(&o.origins, "allow-origin", "an origin `pattern` whose browser pages may use the server, e.g. localhost:5173 (repeatable)")
		return func(e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			return runServe(e, o)
		}
	},
}

// serveFlags are the flags of the serve command.
type serveFlags struct {
	addr     string
	adminKey string
	origins  multiString
}

// openServed opens what serve serves: a file, or a shared database given
// by its postgres:// URL, which livedb.Open opens as one more process of
// it. Any other URL is a usage error rather than a file name.
func openServed(e *env) error {
	if i := strings.Index(e.path, "://"); i > 0 && !isDSN(e.path) {
		return usagef("%s: serve opens a database file or a postgres:// URL, not a %s:// URL", e.name, e.path[:i])
	}
	return e.open(false)
}

// runServe serves the database until the context ends.
func runServe(e *env, o *serveFlags) error {
	key := o.adminKey
	if key == "" {
		key = os.Getenv("LIVEDB_ADMIN_KEY")
	}
	generated := key == ""
	if generated {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("livedb serve: making an admin key: %w", err)
		}
		key = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := openServed(e); err != nil {
		return err
	}
	defer e.close()
	srv, err := server.New(e.db, nil, server.Options{AdminKey: key, AllowedOrigins: o.origins, Logger: cliLogger(e.stderr)})
	if err != nil {
		return fmt.Errorf("livedb serve: %w", err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("livedb serve: %w", err)
	}
	url := "http://" + ln.Addr().String()
	mode := "read-only"
	if !e.readonly {
		mode = "read-write"
	}
	fmt.Fprintf(e.stdout, "serving %s (%s) at %s\n", e.name, mode, url)
	fmt.Fprintf(e.stdout, "  Convex clients: new ConvexClient(%q)\n", url)
	fmt.Fprintf(e.stdout, "  dashboard:      %s/dashboard/\n", url)
	if generated {
		fmt.Fprintf(e.stdout, "  admin key:      %s (random; set -admin-key or LIVEDB_ADMIN_KEY to choose one)\n", key)
	}
	return serveUntilDone(e.ctx, ln, srv)
}

// serveUntilDone serves srv on ln until ctx ends, then closes the
// sessions and lets HTTP calls in progress finish (for up to 5 s).
func serveUntilDone(ctx context.Context, ln net.Listener, srv *server.Server) error {
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		_ = srv.Close()
		return fmt.Errorf("livedb serve: %w", err)
	case <-ctx.Done():
	}
	_ = srv.Close()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("livedb serve: shutting down: %w", err)
	}
	return nil
}
