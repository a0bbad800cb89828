package pglog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// formatVersion is the version of the table layout that this package
// reads and writes, kept in livedb_meta.version. A log of another version is
// refused with ErrFormat.
const formatVersion = 1

// Table names, in the schema that the connection's search_path selects.
const (
	metaTable  = "livedb_meta"
	logTable   = "livedb_log"
	stateTable = "livedb_state"
	leaseTable = "livedb_lease"
)

// tableDDL creates each table; %s is the qualified name. The CHECK
// constraints keep rows that break the log's rules out even when written by
// hand.
var tableDDL = []struct{ name, ddl string }{
	{metaTable, `CREATE TABLE IF NOT EXISTS %s (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	id      text    NOT NULL,
	version integer NOT NULL,
	head    bigint  NOT NULL CHECK (head >= 0)
)`},
	{logTable, `CREATE TABLE IF NOT EXISTS %s (
	ts    bigint PRIMARY KEY CHECK (ts > 0),
	prev  bigint NOT NULL CHECK (prev >= 0 AND prev < ts),
	nonce bytea,
	data  bytea  NOT NULL
)`},
	{stateTable, `CREATE TABLE IF NOT EXISTS %s (
	key   bytea PRIMARY KEY,
	value bytea NOT NULL
)`},
	{leaseTable, `CREATE TABLE IF NOT EXISTS %s (
	name    text        PRIMARY KEY,
	holder  text,
	expires timestamptz NOT NULL,
	token   bigint      NOT NULL
)`},
}

// wantColumns is each table's columns and their types, as format_type
// names them: a table with other columns is not livedb's.
var wantColumns = map[string][]string{
	metaTable:  {"head bigint", "id text", "one boolean", "version integer"},
	logTable:   {"data bytea", "nonce bytea", "prev bigint", "ts bigint"},
	stateTable: {"key bytea", "value bytea"},
	leaseTable: {"expires timestamp with time zone", "holder text", "name text", "token bigint"},
}

// setupLockKey is the first key of the advisory lock that serialises the
// creation of the tables by processes opening the log at once; the second
// is a hash of the schema's name.
const setupLockKey = 0x6c697665 // "live"

// setup creates the tables where they are missing, then checks them and
// reads the database id. It returns the schema that the tables live in.
// With noCreate, missing tables are an error and nothing is written.
func (l *Log) setup(ctx context.Context, noCreate bool) error {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return wrap("connect", err)
	}
	defer conn.Release()

	var schema *string
	var present int
	err = conn.QueryRow(ctx, `SELECT current_schema(),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = current_schema() AND c.relname = ANY($1))`,
		[]string{metaTable, logTable, stateTable, leaseTable}).Scan(&schema, &present)
	if err != nil {
		return wrap("look for the tables", err)
	}
	if schema == nil {
		return errors.New("no schema to keep the tables in: the search_path of the DSN names no schema that exists")
	}
	l.schema = *schema
	if present < len(tableDDL) && noCreate {
		return fmt.Errorf("%w: schema %q holds %d of livedb's %d tables, and this Open creates none: no livedb database is there yet", ErrFormat, l.schema, present, len(tableDDL))
	}
	if present < len(tableDDL) {
		if err := l.create(ctx, conn.Conn()); err != nil {
			return err
		}
	}
	if err := l.checkColumns(ctx, conn.Conn()); err != nil {
		return err
	}
	return l.readMeta(ctx, conn.Conn())
}

// create creates the missing tables and the meta row in one transaction,
// under an advisory lock so that processes opening at once do not race.
// The meta row is made only with the meta table: a meta table without its
// row is damage, not a new database.
func (l *Log) create(ctx context.Context, conn *pgx.Conn) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", setupLockKey, l.schema); err != nil {
			return wrap("lock the table setup", err)
		}
		var metaExists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", l.table(metaTable)).Scan(&metaExists); err != nil {
			return wrap("look for "+metaTable, err)
		}
		for _, t := range tableDDL {
			if _, err := tx.Exec(ctx, fmt.Sprintf(t.ddl, l.table(t.name))); err != nil {
				return wrap("create "+t.name, err)
			}
		}
		if metaExists {
			return nil
		}
		id := make([]byte, 16)
		_, _ = rand.Read(id) // never fails (crypto/rand)
		_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (id, version, head) VALUES ($1, $2, 0)", l.table(metaTable)),
			hex.EncodeToString(id), formatVersion)
		return wrap("create the meta row", err)
	})
	if err != nil {
		return fmt.Errorf("create the tables in schema %q: %w", l.schema, err)
	}
	return nil
}

// checkColumns refuses tables whose columns are not livedb's.
func (l *Log) checkColumns(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind IN ('r', 'p')`,
		l.schema, []string{metaTable, logTable, stateTable, leaseTable})
	if err != nil {
		return wrap("read the columns of the tables", err)
	}
	got := map[string][]string{}
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			rows.Close()
			return wrap("read the columns of the tables", err)
		}
		got[table] = append(got[table], column+" "+typ)
	}
	if err := rows.Err(); err != nil {
		return wrap("read the columns of the tables", err)
	}
	for table, want := range wantColumns {
		cols := got[table]
		slices.Sort(cols)
		if !slices.Equal(cols, want) {
			return fmt.Errorf("%w: table %s has columns (%s), want (%s)", ErrFormat,
				l.table(table), strings.Join(cols, ", "), strings.Join(want, ", "))
		}
	}
	return nil
}

// readMeta reads and checks the meta row.
func (l *Log) readMeta(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT id, version, head FROM %s", l.table(metaTable)))
	if err != nil {
		return wrap("read "+metaTable, err)
	}
	n := 0
	var id string
	var version int32
	var head int64
	for rows.Next() {
		n++
		if err := rows.Scan(&id, &version, &head); err != nil {
			rows.Close()
			return fmt.Errorf("%w: %s: %w", ErrFormat, metaTable, err)
		}
	}
	if err := rows.Err(); err != nil {
		return wrap("read "+metaTable, err)
	}
	switch {
	case n != 1:
		return fmt.Errorf("%w: %s has %d rows, want 1", ErrFormat, l.table(metaTable), n)
	case version != formatVersion:
		return fmt.Errorf("%w: %s says format version %d; this livedb knows version %d", ErrFormat, l.table(metaTable), version, formatVersion)
	case id == "":
		return fmt.Errorf("%w: %s has an empty database id", ErrFormat, l.table(metaTable))
	case head < 0:
		return fmt.Errorf("%w: %s has head %d", ErrFormat, l.table(metaTable), head)
	}
	l.id = id
	return nil
}

// table returns the qualified, quoted name of a table.
func (l *Log) table(name string) string {
	return pgx.Identifier{l.schema, name}.Sanitize()
}
