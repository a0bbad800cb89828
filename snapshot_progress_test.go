package livedb_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/snapshot"
)

// TestSnapshot_OptionsProgress checks that an export and an import whose
// options set no Progress report to the database's Options.Progress, and
// that one whose options set it reports there only.
func TestSnapshot_OptionsProgress(t *testing.T) {
	var mu sync.Mutex
	var got []livedb.Progress
	opts := &livedb.Options{AllowUndeclaredTables: true, Progress: func(p livedb.Progress) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
	}}
	take := func() []livedb.Progress {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	forEachBackendOptions(t, exportSchema(), opts, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		take() // what Open reported
		if err := snapshot.ImportTable(ctx, db, "loose", strings.NewReader(`{"a": 1.5}`+"\n"+`{"a": 2.5}`+"\n"), nil); err != nil {
			t.Fatal(err)
		}
		want := livedb.Progress{Op: "import", Table: "loose", Done: 2, Total: 2}
		if ps := take(); len(ps) == 0 || ps[len(ps)-1] != want {
			t.Errorf("ImportTable reported %+v to Options.Progress, want it to end with %+v", ps, want)
		}

		var buf bytes.Buffer
		if _, err := snapshot.Export(ctx, db, &buf, &snapshot.ExportOptions{Tables: []string{"loose"}}); err != nil {
			t.Fatal(err)
		}
		want = livedb.Progress{Op: "export", Table: "loose", Done: 2, Total: 2}
		if ps := take(); len(ps) == 0 || ps[len(ps)-1] != want {
			t.Errorf("Export reported %+v to Options.Progress, want it to end with %+v", ps, want)
		}

		var own []livedb.Progress
		err := snapshot.Import(ctx, db, bytes.NewReader(buf.Bytes()), int64(buf.Len()), &snapshot.ImportOptions{
			Mode:     snapshot.Replace,
			Progress: func(p livedb.Progress) { own = append(own, p) },
		})
		if err != nil {
			t.Fatal(err)
		}
		want = livedb.Progress{Op: "import", Table: "loose", Done: 2, Total: 2}
		if len(own) == 0 || own[len(own)-1] != want {
			t.Errorf("Import reported %+v to its own Progress, want it to end with %+v", own, want)
		}
		if ps := take(); len(ps) != 0 {
			t.Errorf("Import with its own Progress also reported %+v to Options.Progress", ps)
		}
	})
}
