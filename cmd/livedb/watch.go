package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
)

const defaultWatchInterval = 500 * time.Millisecond

// watchFlags are the flags of the watch command.
type watchFlags struct {
	since    uint64
	all      bool
	interval time.Duration
}

// runWatch polls the database for changes until the context ends. Each
// poll opens the file read-only, prints what was committed after the last
// change printed, and closes the file, so that a program that writes the
// file can open it between polls.
func runWatch(e *env, tables []string, w *watchFlags) error {
	if w.interval <= 0 {
		return usagef("-interval must be positive")
	}
	if isDSN(e.path) {
		return watchShared(e, tables, w)
	}
	// Without -since or -all, watch prints what commits after it starts,
	// including while a writer holds the file. Commit timestamps are
	// wall-clock nanoseconds.
	start := uint64(time.Now().UnixNano())
	cursor, started := w.since, w.since > 0 || w.all
	waiting := false
	for {
		db, err := livedb.Open(e.path, nil, &livedb.Options{ReadOnly: true, Timeout: e.timeout, Logger: cliLogger(e.stderr)})
		switch {
		case errors.Is(err, livedb.ErrLocked):
			if !waiting {
				fmt.Fprintf(e.stderr, "livedb watch: %s is open in a process that writes it; its changes appear here once it closes the file\n", e.path)
				waiting = true
			}
		case err != nil:
			return e.openError(err)
		default:
			waiting = false
			if !started {
				cursor, started = min(start, db.LastTimestamp()), true
				if !e.json {
					fmt.Fprintf(e.stderr, "watching %s of %s after commit %d (Ctrl-C to stop)\n", watchedTables(tables), e.path, cursor)
				}
			}
			cursor, err = printChanges(e, db, cursor, tables)
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-e.ctx.Done():
			return nil
		case <-time.After(w.interval):
		}
	}
}

// watchShared follows a shared database live until the context ends: it
// opens it once, read-only, as one more process of it, and prints each
// change as the copy applies the commit that made it, whichever process
// committed it.
func watchShared(e *env, tables []string, w *watchFlags) error {
	if err := e.open(false); err != nil {
		return err
	}
	defer e.close()
	cursor := w.since
	if w.since == 0 && !w.all {
		cursor = e.db.LastTimestamp()
	}
	if !e.json {
		fmt.Fprintf(e.stderr, "watching %s of %s after commit %d, live (Ctrl-C to stop)\n", watchedTables(tables), e.name, cursor)
	}
	feed := e.db.Changes(cursor, tables...)
	for {
		c, err := feed.Next(e.ctx)
		switch {
		case e.ctx.Err() != nil:
			return nil
		case errors.Is(err, livedb.ErrChangesPruned):
			return fmt.Errorf("%w\n(watch's copy of the shared database holds the changes committed since it started: start later with -since, or from now without -since and -all)", err)
		case err != nil:
			return err
		}
		if err := printChange(e, c); err != nil {
			return err
		}
	}
}

// watchedTables names what watch prints.
func watchedTables(tables []string) string {
	if len(tables) == 0 {
		return "every table"
	}
	return strings.Join(tables, ", ")
}

// printChanges prints the changes after cursor and returns the new cursor:
// the database's last commit, since nothing commits while it is open
// read-only.
func printChanges(e *env, db *livedb.DB, cursor uint64, tables []string) (uint64, error) {
	feed := db.Changes(cursor, tables...)
	for {
		c, ok, err := feed.TryNext()
		if errors.Is(err, livedb.ErrChangesPruned) {
			return cursor, fmt.Errorf("%w\n(start later with -since, or from now without -since and -all)", err)
		}
		if err != nil {
			return cursor, err
		}
		if !ok {
			return max(cursor, db.LastTimestamp()), nil
		}
		if err := printChange(e, c); err != nil {
			return cursor, err
		}
	}
}

// printChange prints one change: a JSON object per line with --json, else
// a line of time, operation, table, ID and the new document.
func printChange(e *env, c livedb.Change) error {
	if e.json {
		enc := func(d livedb.Doc) (json.RawMessage, error) {
			if d == nil {
				return json.RawMessage("null"), nil
			}
			return convexjson.EncodeExport(map[string]any(d))
		}
		oldJSON, err := enc(c.Old)
		if err != nil {
			return err
		}
		newJSON, err := enc(c.New)
		if err != nil {
			return err
		}
		b, err := json.Marshal(map[string]any{"timestamp": c.Timestamp, "op": c.Op, "table": c.Table, "id": c.ID, "old": oldJSON, "new": newJSON})
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(append(b, '\n'))
		return err
	}
	line := fmt.Sprintf("%s  %-6s  %s  %s", time.Unix(0, int64(c.Timestamp)).UTC().Format("2006-01-02 15:04:05.000"), c.Op, c.Table, c.ID)
	if c.New != nil {
		b, err := convexjson.EncodeExport(map[string]any(c.New))
		if err != nil {
			return err
		}
		line += "  " + string(b)
	}
	_, err := fmt.Fprintln(e.stdout, line)
	return err
}
