package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// mustTimesDB creates a database whose events hold times as Float64
// milliseconds, as a typed table stores a time.Time, and returns its path
// and the ID of the event.
func mustTimesDB(t *testing.T) (string, livedb.ID) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "times.db")
	schema := livedb.DefineSchema(livedb.Tables{
		"events": livedb.DefineTable(v.Object(v.Fields{
			"at":    v.Float64(),
			"due":   v.Optional(v.Float64()),
			"label": v.String(),
			"count": v.Float64(),
		})),
	})
	db, err := livedb.Open(path, schema, &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	id, err := livedb.MutationValue(context.Background(), db, func(m *livedb.MutationCtx) (livedb.ID, error) {
		// 2024-05-01T10:00:00.123Z; due: 1969-12-31T23:59:59.500Z
		return m.DB.Insert("events", livedb.Doc{"at": 1714557600123.0, "due": -500.0, "label": "deploy", "count": 7.0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, id
}

func TestRun_TimeFields(t *testing.T) {
	path, id := mustTimesDB(t)
	const at, due = "2024-05-01T10:00:00.123Z", "1969-12-31T23:59:59.500Z"

	t.Run("query", func(t *testing.T) {
		out := mustCLI(t, "query", path, "events", "-time-fields", "at,due", "-time-fields", "label")
		for _, want := range []string{at, due, "deploy", "7"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "1714557600123") {
			t.Errorf("at is printed as a number:\n%s", out)
		}
	})
	t.Run("query without the flag", func(t *testing.T) {
		out := mustCLI(t, "query", path, "events")
		if !strings.Contains(out, "1714557600123") || strings.Contains(out, at) {
			t.Errorf("without -time-fields, at is a number:\n%s", out)
		}
	})
	t.Run("get", func(t *testing.T) {
		out := mustCLI(t, "get", path, string(id), "-time-fields", "at")
		if !strings.Contains(out, "1714557600123.0 ("+at+")") {
			t.Errorf("get prints the number and its time:\n%s", out)
		}
		if strings.Contains(out, due) {
			t.Errorf("due is not in -time-fields:\n%s", out)
		}
	})
	t.Run("json keeps numbers", func(t *testing.T) {
		docs := queryJSON(t, "query", path, "events", "-time-fields", "at")
		if len(docs) != 1 || docs[0]["at"] != 1714557600123.0 {
			t.Errorf("--json = %#v", docs)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		for _, arg := range []string{"at,", "meta.at"} {
			code, _, errOut := cli(t, "query", path, "events", "-time-fields", arg)
			if code != exitUsage || !strings.Contains(errOut, "-time-fields") {
				t.Errorf("-time-fields %q: exit %d, stderr %q", arg, code, errOut)
			}
		}
	})
}

func TestTimeFields_Format(t *testing.T) {
	tf := timeFields{"at": true}
	for _, tc := range []struct {
		field string
		x     any
		want  string
		ok    bool
	}{
		{"at", 0.0, "1970-01-01T00:00:00.000Z", true},
		{"at", int64(1714557600123), "2024-05-01T10:00:00.123Z", true},
		{"at", -62135596800000.0, "0001-01-01T00:00:00.000Z", true}, // the zero time.Time
		{"at", 8.64e15, "275760-09-13T00:00:00.000Z", true},
		{"at", 8.64e15 + 1, "", false},
		{"at", "2024", "", false},
		{"other", 0.0, "", false},
	} {
		got, ok := tf.format(tc.field, tc.x)
		if got != tc.want || ok != tc.ok {
			t.Errorf("format(%q, %v) = %q, %v; want %q, %v", tc.field, tc.x, got, ok, tc.want, tc.ok)
		}
	}
}
