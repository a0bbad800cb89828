// Command livedb looks inside a livedb database without writing code: it
// lists tables, prints the schema, gets and queries documents, tails the
// change feed, checks integrity, exports and imports Convex snapshot ZIPs,
// and serves the database to Convex clients and the dashboard (serve).
//
// Usage:
//
//	livedb <command> [flags] <db> [args]
//
// <db> is a database file, or the postgres:// URL of a database shared by
// several processes (livedb.Open's "A database shared by many processes"):
// the command then runs as one more, read-only, process of it, beside the
// programs that write it, and watch prints their commits as they land.
//
// Run "livedb help" for the commands and "livedb <command> --help" for the
// flags of one. Exit codes: 0 success, 1 error, 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/livedb-go/livedb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run runs the command line args (without the program name) and returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	args    string // positional arguments after <db>, for the usage line
	summary string
	detail  string
	write   bool // opens the database read-write
	flags   func(fs *flag.FlagSet) func(e *env, args []string) error
}

// env is what a command runs with.
type env struct {
	ctx      context.Context
	stdout   io.Writer
	stderr   io.Writer
	json     bool
	path     string // the file or DSN
	name     string // path for messages: a DSN without its password
	readonly bool
	timeout  time.Duration
	cmd      *command
	db       *livedb.DB
	progress func(livedb.Progress) // Options.Progress of the database
	schema   *livedb.Schema        // nil: the stored schema
	times    timeFields            // -time-fields: fields printed as times
}

var commands []*command

func init() {
	commands = []*command{
		tablesCommand, schemaCommand, getCommand, queryCommand,
		exportCommand, importCommand, watchCommand, checkCommand, serveCommand,
	}
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

const topUsage = `livedb looks inside a livedb database: tables, schema, documents,
the change feed, integrity; moves data in and out as Convex snapshot ZIPs;
and serves it to Convex clients and the dashboard.

Usage:
  livedb <command> [flags] <db> [arguments]
  livedb <command> -db <db> [flags] [arguments]

Commands:
%s
Flags of every command:
  -db path     the database file (or give it as the first argument)
  --json       machine-readable output (JSON) instead of tables
  -readonly    open read-only (default true for every command but import)
  -timeout d   how long to wait for a file another process holds (default 1s)

A database shared by several processes on PostgreSQL is given by its URL
in place of the file, e.g.
  livedb watch 'postgres://user@host/app?search_path=livedb'
The command then opens it as one more process, beside the programs that
write it (read-only: it takes no lock and writes nothing), with a copy of
the database in memory loaded at every run.

Run "livedb <command> --help" for a command's own flags.
Exit codes: 0 success, 1 error, 2 bad usage.
`

func printTopUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, topUsage, b.String())
}

// runContext is run with a context that ends the command (watch runs until
// it is done).
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printTopUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := findCommand(args[1]); c != nil {
				printCommandUsage(stdout, c, nil)
				return exitOK
			}
		}
		printTopUsage(stdout)
		return exitOK
	}
	c := findCommand(args[0])
	if c == nil && len(args) > 1 {
		// livedb state.db tables: the database first.
		if c = findCommand(args[1]); c != nil {
			args = append([]string{args[1], args[0]}, args[2:]...)
		}
	}
	if c == nil {
		fmt.Fprintf(stderr, "livedb: unknown command %q\n\n", args[0])
		printTopUsage(stderr)
		return exitUsage
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, cmd: c}
	err := e.run(args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "livedb %s: %s\n", c.name, ue.msg)
		fmt.Fprintf(stderr, "usage: %s\n(run \"livedb %s --help\" for more)\n", usageLine(c), c.name)
		return exitUsage
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitOK // interrupted (watch ends this way)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "livedb") {
		msg = "livedb: " + msg
	}
	fmt.Fprintln(stderr, msg)
	return exitError
}

func usageLine(c *command) string {
	s := "livedb " + c.name + " [flags] <db>"
	if c.args != "" {
		s += " " + c.args
	}
	return s
}

// printCommandUsage prints a command's usage and flags.
func printCommandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	if fs == nil {
		fs = newFlagSet(c, &env{})
		c.flags(fs)
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n", usageLine(c), c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.detail))
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// newFlagSet returns a command's flag set with the global flags.
func newFlagSet(c *command, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("livedb "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.path, "db", "", "the database `file` or postgres:// URL (or give it as the first argument)")
	fs.BoolVar(&e.json, "json", false, "machine-readable JSON output")
	fs.BoolVar(&e.readonly, "readonly", !c.write, "open the file read-only (shared with other readers)")
	fs.DurationVar(&e.timeout, "timeout", time.Second, "how long to wait for a file another process holds")
	return fs
}

// parseInterleaved parses flags that may come before, between and after
// the positional arguments, and returns the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// run parses the command's flags, opens the database and runs it.
func (e *env) run(args []string) error {
	c := e.cmd
	fs := newFlagSet(c, e)
	body := c.flags(fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printCommandUsage(e.stdout, c, fs)
		return err
	}
	if err != nil {
		return usagef("%s", err.Error())
	}
	if e.path == "" {
		if len(pos) == 0 {
			return usagef("no database: give its file as the first argument or with -db")
		}
		e.path, pos = pos[0], pos[1:]
	}
	e.name = displayName(e.path)
	return body(e, pos)
}

// isDSN says whether path is the URL of a shared database on PostgreSQL
// rather than a file, as livedb.Open tells them apart.
func isDSN(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

// displayName returns path as messages show it: a DSN without its
// password.
func displayName(path string) string {
	if !isDSN(path) {
		return path
	}
	u, err := url.Parse(path)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// open opens the database with the stored schema (or e.schema when set).
// Read-only opens require the file to exist; a read-only open of a shared
// database (a DSN) requires a process to have created it.
func (e *env) open(limitless bool) error {
	if e.readonly && !isDSN(e.path) {
		if _, err := os.Stat(e.path); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // named below, as Open names it
			}
			return fmt.Errorf("livedb: open %s: %w", e.path, err)
		}
	}
	opts := &livedb.Options{ReadOnly: e.readonly, Timeout: e.timeout, Logger: cliLogger(e.stderr), Progress: e.progress}
	if limitless {
		// A command-line query reads what it is asked to: no transaction
		// read limits.
		opts.Limits = livedb.Limits{DocumentsRead: 1 << 62, BytesRead: 1 << 62, ReadIntervals: 1 << 30}
	}
	db, err := livedb.Open(e.path, e.schema, opts)
	if err != nil {
		return e.openError(err)
	}
	e.db = db
	return nil
}

// openError explains a failed open in terms a shell user can act on.
func (e *env) openError(err error) error {
	switch {
	case errors.Is(err, livedb.ErrLocked) && e.readonly:
		return fmt.Errorf("livedb: %s is locked by another process that has it open for writing (waited %v).\n"+
			"bbolt lets one process write a file and then no other process may open it, not even read-only.\n"+
			"Stop that program (or wait for it to finish) and retry; -timeout waits longer", e.path, e.timeout)
	case errors.Is(err, livedb.ErrLocked) && !e.cmd.write:
		return fmt.Errorf("livedb: %s is locked by another process (waited %v).\n"+
			"%s only reads: drop -readonly=false, so that it can share the file with other readers", e.path, e.timeout, e.cmd.name)
	case errors.Is(err, livedb.ErrLocked):
		return fmt.Errorf("livedb: %s is locked by another process (waited %v): your program, or another livedb command such as watch.\n"+
			"%s writes, so it needs the file to itself: stop the other process and retry", e.path, e.timeout, e.cmd.name)
	}
	return err
}

func (e *env) close() {
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			fmt.Fprintf(e.stderr, "livedb: close %s: %v\n", e.name, err)
		}
		e.db = nil
	}
}

// cliLogger prints the library's informational messages (index backfill,
// skipped system tables) on stderr as plain lines.
func cliLogger(w io.Writer) *slog.Logger {
	return slog.New(&lineHandler{w: w})
}

// lineHandler writes "message (key=value, ...)" lines at Info and above.
type lineHandler struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var kv []string
	for _, a := range h.attrs {
		kv = append(kv, a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		kv = append(kv, a.String())
		return true
	})
	line := r.Message
	if len(kv) > 0 {
		line += " (" + strings.Join(kv, ", ") + ")"
	}
	_, err := fmt.Fprintln(h.w, line)
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
