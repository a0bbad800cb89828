package livedb_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/proctest"
	"github.com/livedb-go/livedb/v"
)

// The write-ahead log in front of a database file (wal.go): a commit is a
// record appended to path+"-wal", bbolt follows it, and Open applies what
// the log holds beyond bbolt's last synced state.

func walSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{"n": v.Int64()})).Index("by_n", "n"),
	})
}

const (
	walHeaderSize = 16
	walHeadSize   = 16
)

// mustWALCrashCopy makes, in a new directory, the files a crash leaves
// when bbolt holds none of n commits that the log holds: the database
// file as it was before the commits, and the log after them. It returns
// the copy's path.
func mustWALCrashCopy(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.db")
	db, err := livedb.Open(path, walSchema(), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "crash.db")
	mustCopyFile(t, path, dst) // no commit is running: bbolt's file is whole
	for i := range n {
		mustInsertNote(t, db, int64(i))
	}
	mustCopyFile(t, path+"-wal", dst+"-wal")
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return dst
}

func mustCopyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustInsertNote(t *testing.T, db *livedb.DB, n int64) {
	t.Helper()
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("notes", livedb.Doc{"n": n})
		return err
	})
	if err != nil {
		t.Fatalf("insert %d: %v", n, err)
	}
}

// mustNotes returns the n of every note, in order of n.
func mustNotes(t *testing.T, db *livedb.DB) []int64 {
	t.Helper()
	var ns []int64
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		docs, err := q.DB.Query("notes").WithIndex("by_n", nil).Collect()
		for _, d := range docs {
			ns = append(ns, d["n"].(int64))
		}
		return err
	})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return ns
}

// mustOpenNotes opens path, checks it, and returns its notes; it closes it.
func mustOpenNotes(t *testing.T, path string) []int64 {
	t.Helper()
	db, err := livedb.Open(path, walSchema(), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if err := db.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return mustNotes(t, db)
}

func wantNotes(t *testing.T, got []int64, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d notes %v, want %d", len(got), got, n)
	}
	for i, x := range got {
		if x != int64(i) {
			t.Fatalf("notes %v, want 0..%d once each", got, n-1)
		}
	}
}

// walRecords returns the byte offset of each record of the log at path,
// and of the end of the last one (zeros written ahead may follow).
func walRecords(t *testing.T, path string) (offs []int, end int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := walHeaderSize
	for off+walHeadSize <= len(b) && binary.LittleEndian.Uint64(b[off+8:]) != 0 {
		offs = append(offs, off)
		off += walHeadSize + int(binary.LittleEndian.Uint32(b[off:]))
	}
	return offs, off
}

func mustPatchFile(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpen_WAL_ReplaysTail(t *testing.T) {
	path := mustWALCrashCopy(t, 5)
	if offs, _ := walRecords(t, path+"-wal"); len(offs) != 6 {
		t.Fatalf("the log holds %d records, want 6 (Open's schema commit, which the copied file has too, and one per commit)", len(offs))
	}
	wantNotes(t, mustOpenNotes(t, path), 5)
	// Open checkpointed: the log is empty, and the file holds the notes.
	if offs, _ := walRecords(t, path+"-wal"); len(offs) != 0 {
		t.Fatalf("after Open and Close the log holds %d records, want 0", len(offs))
	}
	db, err := livedb.Open(path, walSchema(), &livedb.Options{NoWAL: true})
	if err != nil {
		t.Fatalf("Open(NoWAL): %v", err)
	}
	defer db.Close()
	wantNotes(t, mustNotes(t, db), 5)
}

func TestOpen_WAL_TornTailCut(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte, last, end int) []byte
	}{
		{"last record cut short", func(b []byte, last, end int) []byte { return b[:end-3] }},
		{"last record's head cut short", func(b []byte, last, end int) []byte { return b[:last+5] }},
		{"last record's payload flipped", func(b []byte, last, end int) []byte { b[end-2] ^= 0xff; return b }},
		{"last record zeroed", func(b []byte, last, end int) []byte { clear(b[last:end]); return b }},
		{"last record's tail zeroed", func(b []byte, last, end int) []byte { clear(b[end-4 : end]); return b }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := mustWALCrashCopy(t, 4)
			offs, end := walRecords(t, path+"-wal")
			mustPatchFile(t, path+"-wal", func(b []byte) []byte { return tc.damage(b, offs[len(offs)-1], end) })
			wantNotes(t, mustOpenNotes(t, path), 3)
			// The cut log takes new records after the whole ones.
			db, err := livedb.Open(path, walSchema(), nil)
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}
			mustInsertNote(t, db, 3)
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wantNotes(t, mustOpenNotes(t, path), 4)
		})
	}
}

func TestOpen_WAL_CorruptMiddleRefused(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte, off int)
	}{
		{"payload byte flipped", func(b []byte, off int) { b[off+walHeadSize+2] ^= 0x01 }},
		{"checksum flipped", func(b []byte, off int) { b[off+5] ^= 0x80 }},
		{"length grown", func(b []byte, off int) { b[off+1]++ }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := mustWALCrashCopy(t, 5)
			offs, _ := walRecords(t, path+"-wal")
			mustPatchFile(t, path+"-wal", func(b []byte) []byte { tc.damage(b, offs[1]); return b })
			before, err := os.ReadFile(path + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			_, err = livedb.Open(path, walSchema(), nil)
			if !errors.Is(err, livedb.ErrCorrupt) || !errors.Is(err, livedb.ErrNotLivedb) {
				t.Fatalf("Open with a damaged record before valid ones: %v, want ErrCorrupt and ErrNotLivedb", err)
			}
			want := fmt.Sprintf("record at byte %d", offs[1])
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path+"-wal") {
				t.Fatalf("Open: %q does not name the log and say %q", err, want)
			}
			after, err := os.ReadFile(path + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			if string(before) != string(after) {
				t.Fatalf("Open changed the damaged log (%d bytes before, %d after)", len(before), len(after))
			}
		})
	}
}

// walHeader returns a log header with magic and version.
func walHeader(magic string, version uint32) []byte {
	h := make([]byte, walHeaderSize)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(h[:12], crc32.MakeTable(crc32.Castagnoli)))
	return h
}

func TestOpen_WAL_BadHeaderRefused(t *testing.T) {
	tests := []struct {
		name   string
		header []byte
		want   string
	}{
		{"bad magic", walHeader("NOTAWAL!", 1), "bad magic"},
		{"future version", walHeader("LIVEDBWL", 2), "format version 2"},
		{"bad header checksum", append(walHeader("LIVEDBWL", 1)[:12], 1, 2, 3, 4), "header checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := mustWALCrashCopy(t, 2)
			mustPatchFile(t, path+"-wal", func(b []byte) []byte { return append(tc.header, b[walHeaderSize:]...) })
			for _, ro := range []bool{false, true} {
				_, err := livedb.Open(path, walSchema(), &livedb.Options{ReadOnly: ro})
				if !errors.Is(err, livedb.ErrNotLivedb) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Open(ReadOnly=%v): %v, want ErrNotLivedb saying %q", ro, err, tc.want)
				}
			}
		})
	}
}

func TestOpen_WAL_ReadOnlyNeedsRecovery(t *testing.T) {
	path := mustWALCrashCopy(t, 3)
	_, err := livedb.Open(path, walSchema(), &livedb.Options{ReadOnly: true})
	if !errors.Is(err, livedb.ErrNeedsRecovery) || !strings.Contains(err.Error(), "without ReadOnly") {
		t.Fatalf("read-only Open with commits in the log: %v, want ErrNeedsRecovery saying what to do", err)
	}
	wantNotes(t, mustOpenNotes(t, path), 3) // a read-write open applies them
	db, err := livedb.Open(path, walSchema(), &livedb.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open after recovery: %v", err)
	}
	defer db.Close()
	wantNotes(t, mustNotes(t, db), 3)
}

func TestOpen_WAL_NoWALAppliesAndRemovesLog(t *testing.T) {
	path := mustWALCrashCopy(t, 3)
	db, err := livedb.Open(path, walSchema(), &livedb.Options{NoWAL: true})
	if err != nil {
		t.Fatalf("Open(NoWAL): %v", err)
	}
	wantNotes(t, mustNotes(t, db), 3)
	mustInsertNote(t, db, 3)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the log is still there after Open(NoWAL): %v", err)
	}
	wantNotes(t, mustOpenNotes(t, path), 4)
}

func TestOpen_WAL_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := livedb.Open(path, walSchema(), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	mustInsertNote(t, db, 0)
	before, _ := os.ReadFile(path + "-wal")
	p := proctest.Start(t, "opener", "TestOpen_WAL_Locked", walLockChildEnv+"="+path)
	p.Expect("locked", time.Minute)
	p.Stop(time.Minute)
	after, _ := os.ReadFile(path + "-wal")
	if string(before) != string(after) || len(before) <= walHeaderSize {
		t.Fatalf("the failed Open of another process changed the log (%d bytes before, %d after)", len(before), len(after))
	}
}

const walLockChildEnv = "LIVEDB_WAL_LOCK_CHILD"

func init() {
	// The child of TestOpen_WAL_Locked: an Open of a file another process
	// holds must fail with ErrLocked before it touches the log.
	if path := os.Getenv(walLockChildEnv); path != "" {
		for _, ro := range []bool{false, true} {
			_, err := livedb.Open(path, walSchema(), &livedb.Options{ReadOnly: ro, Timeout: 50 * time.Millisecond})
			if !errors.Is(err, livedb.ErrLocked) {
				proctest.Fail("Open(ReadOnly=%v) of a held file: %v, want ErrLocked", ro, err)
				os.Exit(1)
			}
		}
		proctest.Say("locked")
		for range proctest.Commands() {
		}
		os.Exit(0)
	}
}

// TestDB_WAL_KillAtCrashPoints kills a child process at the log's two
// crash points: right after a record is durable in the log, before bbolt
// has it ("appended"), and after a checkpoint synced bbolt, before the log
// is trimmed ("synced"). Reopening must give every commit exactly once.
func TestDB_WAL_KillAtCrashPoints(t *testing.T) {
	if spec := os.Getenv(walKillChildEnv); spec != "" {
		walKillChild(t, spec)
		return
	}
	tests := []struct {
		point string
		want  int // notes after the reopen
	}{
		// The 11th commit's record was synced: it is durable though its
		// caller never heard back, and only the log has it.
		{"appended", 11},
		// Close's checkpoint synced bbolt and died before the trim: the
		// log's records are replayed onto a file that has them.
		{"synced", 10},
	}
	for _, tc := range tests {
		t.Run(tc.point, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kill.db")
			p := proctest.Start(t, tc.point, "TestDB_WAL_KillAtCrashPoints", walKillChildEnv+"="+tc.point+":"+path)
			for i := range 10 {
				if got := p.Expect("ack", time.Minute); len(got) != 1 || got[0] != fmt.Sprint(i) {
					t.Fatalf("child said ack %v, want ack %d", got, i)
				}
			}
			p.Expect("at", time.Minute)
			select {
			case <-p.Exited():
			case <-time.After(time.Minute):
				t.Fatalf("the child did not die at %q within a minute", tc.point)
			}
			if !p.Kill() {
				t.Fatalf("the child ended, but not of SIGKILL; its stderr:\n%s", p.Stderr())
			}
			if offs, _ := walRecords(t, path+"-wal"); len(offs) == 0 {
				t.Fatalf("the log is empty after the kill at %q: the test did not stop where it means to", tc.point)
			}
			wantNotes(t, mustOpenNotes(t, path), tc.want)
			wantNotes(t, mustOpenNotes(t, path), tc.want) // and again, after the checkpoint of the first reopen
		})
	}
}

const walKillChildEnv = "LIVEDB_WAL_KILL_CHILD" // "point:path"

// walKillChild commits 10 notes, acknowledging each, then arms the hook
// that kills the process at the point, and commits an 11th note
// ("appended") or closes the database ("synced").
func walKillChild(t *testing.T, spec string) {
	point, path, _ := strings.Cut(spec, ":")
	armed := false
	livedb.SetWALHook(func(p string) {
		if armed && p == point {
			proctest.Say("at %s", p)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	})
	db, err := livedb.Open(path, walSchema(), nil)
	if err != nil {
		proctest.Fail("open: %v", err)
		t.Fatal(err)
	}
	for i := range int64(10) {
		mustInsertNote(t, db, i)
		proctest.Say("ack %d", i)
	}
	armed = true
	if point == "appended" {
		mustInsertNote(t, db, 10)
	} else {
		_ = db.Close()
	}
	proctest.Fail("the hook at %q was not reached", point)
	t.Fatalf("the hook at %q was not reached", point)
}

// TestOpen_WAL_LocalCopyHasNone checks that the bbolt copy of a shared
// database gets no write-ahead log: PostgreSQL's log is its log, and the
// copy is a cache that is never synced.
func TestOpen_WAL_LocalCopyHasNone(t *testing.T) {
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	db, err := livedb.Open(matrixSchema(t), walSchema(), &livedb.Options{LocalCopy: copyPath})
	if err != nil {
		t.Fatalf("open shared database: %v", err)
	}
	mustInsertNote(t, db, 0)
	if _, err := os.Stat(copyPath + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the local copy has a write-ahead log (%v), want none", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
