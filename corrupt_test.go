package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/livedbtest"
)

// Corrupted files: every damage gives a clear error (ErrNotLivedb at Open,
// ErrCorrupt at Check, one of the two on a read) and never a panic. The
// white-box cases change keys through the kv layer, behind the engine's
// back; they rely on the key layout of keys.go: "\x00catalog" holds the
// catalog JSON, an index entry is 0x01, the index id (4 bytes big-endian)
// and the sort key of its columns.

const corruptDocs = 150

// mustLivedbFile writes a closed livedb file with workflows and sessions
// and returns its path and bytes.
func mustLivedbFile(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orig.db")
	db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	statuses := []string{"pending", "in_progress", "completed", "failed"}
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i := range corruptDocs {
			wf, err := m.DB.Insert("workflows", livedb.Doc{"task": fmt.Sprintf("task %d %s", i, strings.Repeat("x", i%50)), "status": statuses[i%4]})
			if err != nil {
				return err
			}
			if _, err := m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "coder", "status": "running"}); err != nil {
				return err
			}
		}
		return nil
	})
	livedbtest.MustCheckClose(t, db)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt grows the file ahead of its use: keep the pages in use.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	tx, err := bdb.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	return path, data[:tx.Size()]
}

// corruptWriteTemp writes data to a new file and returns its path.
func corruptWriteTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// corruptOutcome opens a damaged file and reads it every way. It returns
// where the damage was reported ("open", "check", "read") or "" when
// everything succeeded, and fails the test on an error that is neither
// ErrNotLivedb nor ErrCorrupt.
func corruptOutcome(t *testing.T, path string) string {
	t.Helper()
	db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		MustCleanErrorText(t, err, path)
		if !errors.Is(err, livedb.ErrNotLivedb) {
			t.Fatalf("Open: %v does not wrap ErrNotLivedb", err)
		}
		return "open"
	}
	defer func() {
		if err := db.Close(); err != nil && !errors.Is(err, livedb.ErrCorrupt) && !errors.Is(err, livedb.ErrNotLivedb) {
			t.Errorf("Close: %v", err)
		}
	}()
	ctx := context.Background()
	outcome := ""
	if err := db.Check(ctx); err != nil {
		MustCleanErrorText(t, err, path)
		if !errors.Is(err, livedb.ErrCorrupt) && !errors.Is(err, livedb.ErrNotLivedb) {
			t.Fatalf("Check: %v wraps neither ErrCorrupt nor ErrNotLivedb", err)
		}
		outcome = "check"
	}
	readErr := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		MustCleanErrorText(t, err, path)
		if !errors.Is(err, livedb.ErrCorrupt) && !errors.Is(err, livedb.ErrNotLivedb) {
			t.Fatalf("%s: %v wraps neither ErrCorrupt nor ErrNotLivedb", what, err)
		}
		if outcome == "" {
			outcome = "read"
		}
	}
	err = db.Query(ctx, func(q *livedb.QueryCtx) error {
		for _, table := range []string{"workflows", "agentSessions"} {
			docs, err := q.DB.Query(table).Order(livedb.Desc).Collect()
			readErr("collect "+table, err)
			for _, d := range docs {
				_, _, err := q.DB.Get(d.ID())
				readErr("get", err)
			}
		}
		_, err := q.DB.Query("workflows").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("status", "failed")
		}).Collect()
		readErr("by_status", err)
		return nil
	})
	readErr("query", err)
	feed := db.Changes(0)
	for {
		_, ok, err := feed.TryNext()
		if err != nil {
			readErr("changes", err)
			break
		}
		if !ok {
			break
		}
	}
	return outcome
}

func TestOpen_RandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{1, 100, 4095, 4096, 8192, 16384, 1 << 16} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			if got := corruptOutcome(t, corruptWriteTemp(t, data)); got != "open" {
				t.Fatalf("a file of %d random bytes was not refused at Open (outcome %q)", size, got)
			}
		})
	}
}

func TestOpen_TruncatedFile(t *testing.T) {
	_, data := mustLivedbFile(t)
	page := os.Getpagesize()
	for _, size := range []int{1, 100, page, 2*page + 10, 3 * page, len(data) / 2, len(data) - page, len(data) - 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			if got := corruptOutcome(t, corruptWriteTemp(t, data[:size])); got != "open" {
				t.Fatalf("a file truncated to %d of %d bytes was not refused at Open (outcome %q)", size, len(data), got)
			}
		})
	}
}

// Environment of the child processes of TestOpen_AlteredPages.
const (
	alteredChildEnv = "LIVEDB_ALTERED_CHILD" // the base file's path
	alteredFromEnv  = "LIVEDB_ALTERED_FROM"  // the first case to run
)

// alteredPagesCI is how many pages the default run damages.
const alteredPagesCI = 14

// alteredCase is one damaged copy of the base file.
type alteredCase struct {
	name string
	data []byte
}

// alteredCases damages pages past the two meta pages, one at a time:
// zeroed, random bytes, or 8 flipped bytes. The same base gives the same
// cases. CI damages alteredPagesCI pages chosen at random;
// LIVEDB_CORRUPT_ALL=1 damages every page.
func alteredCases(base []byte) []alteredCase {
	page := os.Getpagesize()
	rng := rand.New(rand.NewPCG(11, 13))
	pages := make([]int, 0, len(base)/page)
	for p := 2; p < len(base)/page; p++ {
		pages = append(pages, p)
	}
	if os.Getenv("LIVEDB_CORRUPT_ALL") == "" && len(pages) > alteredPagesCI {
		rng.Shuffle(len(pages), func(i, j int) { pages[i], pages[j] = pages[j], pages[i] })
		pages = pages[:alteredPagesCI]
		slices.Sort(pages)
	}
	var out []alteredCase
	for _, p := range pages {
		for _, mode := range []string{"zero", "random", "flip"} {
			bad := append([]byte(nil), base...)
			pg := bad[p*page : (p+1)*page]
			switch mode {
			case "zero":
				clear(pg)
			case "random":
				for i := range pg {
					pg[i] = byte(rng.Uint32())
				}
			case "flip":
				for range 8 {
					pg[rng.IntN(page)] ^= byte(1 + rng.IntN(255))
				}
			}
			out = append(out, alteredCase{fmt.Sprintf("page%d/%s", p, mode), bad})
		}
	}
	return out
}

// TestOpen_AlteredPages damages the pages of a real livedb file one at a
// time and reads each result every way (Open, Check, scans, gets, the
// change feed). bbolt keeps no checksum of data pages, so a flipped byte
// inside a document's value can go unnoticed; the test requires, for every
// case, a clear error (ErrNotLivedb or ErrCorrupt) or a clean read, and
// never a panic or a crash. Because a memory fault on a bad page is fatal
// to the process, the cases run in child processes: a child that crashes
// is recorded and a new one resumes after the crashing case.
func TestOpen_AlteredPages(t *testing.T) {
	if base := os.Getenv(alteredChildEnv); base != "" {
		alteredChild(t, base)
		return
	}
	basePath, base := mustLivedbFile(t)
	if err := os.WriteFile(basePath, base, 0o600); err != nil {
		t.Fatal(err)
	}
	total := len(alteredCases(base))
	if total < 12 {
		t.Fatalf("only %d cases: the base file is too small", total)
	}
	counts := map[string]int{}
	var crashes, failures []string
	for from := 0; from < total; {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpen_AlteredPages$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), alteredChildEnv+"="+basePath, alteredFromEnv+"="+strconv.Itoa(from))
		out, _ := cmd.CombinedOutput()
		last, crash, frames := from-1, "", 0
		for _, line := range strings.Split(string(out), "\n") {
			line = strings.TrimSpace(line)
			var n int
			var name, outcome string
			if _, err := fmt.Sscanf(line, "altered-case %d %s %s", &n, &name, &outcome); err == nil {
				last = n
				if outcome != "start" {
					counts[strings.SplitN(name, "/", 2)[1]+":"+outcome]++
				}
				continue
			}
			switch {
			case strings.HasPrefix(line, "corrupt_test.go:"):
				failures = append(failures, line)
			case strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "[signal"):
				crash += " " + line
			case crash != "" && frames < 3 && strings.HasPrefix(line, "github.com/livedb-go/livedb"):
				crash += " <- " + line[strings.LastIndex(line, "/")+1:]
				frames++
			}
		}
		if crash == "" {
			if !strings.Contains(string(out), "altered-done") {
				t.Fatalf("the child stopped after case %d without a crash message:\n%s", last, corruptTail(out, 40))
			}
			break
		}
		crashes = append(crashes, fmt.Sprintf("case %d:%s", last, crash))
		from = last + 1
	}
	t.Logf("outcomes of %d damaged copies: %v", total, counts)
	if len(crashes) > 0 {
		t.Errorf("%d of %d damaged copies crashed the process:\n  %s", len(crashes), total, strings.Join(crashes, "\n  "))
	}
	if len(failures) > 0 {
		t.Errorf("%d failures, the first ones:\n  %s", len(failures), strings.Join(failures[:min(len(failures), 12)], "\n  "))
	}
	noticed := counts["random:open"] + counts["random:check"] + counts["random:read"]
	if len(crashes) == 0 && noticed == 0 {
		t.Errorf("no page of random bytes was noticed: %v", counts)
	}
}

// alteredChild runs the cases from LIVEDB_ALTERED_FROM on, printing a
// marker before and after each so that the parent knows where a crash
// happened.
func alteredChild(t *testing.T, basePath string) {
	base, err := os.ReadFile(basePath)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := strconv.Atoi(os.Getenv(alteredFromEnv))
	cases := alteredCases(base)
	for i := from; i < len(cases); i++ {
		c := cases[i]
		fmt.Printf("altered-case %d %s start\n", i, c.name)
		outcome := "?"
		t.Run(c.name, func(t *testing.T) {
			outcome = corruptOutcome(t, corruptWriteTemp(t, c.data))
		})
		if outcome == "" {
			outcome = "unnoticed"
		}
		fmt.Printf("altered-case %d %s %s\n", i, c.name, outcome)
	}
	fmt.Println("altered-done")
}

// corruptTail returns the last n lines of out.
func corruptTail(out []byte, n int) string {
	lines := strings.Split(string(out), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestOpen_BboltFileWithoutCatalog: bbolt files that livedb did not write.
func TestOpen_BboltFileWithoutCatalog(t *testing.T) {
	tests := []struct {
		name string
		fill func(tx *bolt.Tx) error
	}{
		{"another application's buckets", func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("sessions"))
			if err != nil {
				return err
			}
			return b.Put([]byte("user:1"), []byte(`{"name":"ann"}`))
		}},
		{"livedb bucket without catalog", func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte(bboltkv.BucketName))
			if err != nil {
				return err
			}
			return b.Put([]byte("\x01\x00\x00\x00\x01key"), []byte("value"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := bdb.Update(tc.fill); err != nil {
				t.Fatal(err)
			}
			if err := bdb.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := livedb.Open(path, agentSchema(), nil)
			if err == nil {
				_ = db.Close()
				t.Fatal("Open adopted a bbolt file that holds data but no livedb catalog")
			}
			if !errors.Is(err, livedb.ErrNotLivedb) {
				t.Fatalf("Open: %v does not wrap ErrNotLivedb", err)
			}
		})
	}
}
