package livedb_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// The kill points of the write-ahead log: TestDB_WAL_KillPoints re-runs
// the test binary as a child (gated by walKillEnv, which names the point)
// that commits walKillAcked notes, printing "ack N" after each, then arms
// a hook that SIGKILLs the process at the point, and commits one more. The
// parent reopens the files the process left and checks what must be
// there.
//
//   - "appended": the last commit's record is in the log and synced, but
//     was never applied in memory, and nothing was checkpointed since:
//     the reopen must replay it from the log.
//   - "checkpointed": a checkpoint's bbolt transaction is synced but the
//     segments it covers are not deleted: the reopen must hold every
//     acknowledged commit (and the deletion of note 0), pass Check, and
//     delete the covered segments. (walkv's TestStore_Open_CheckpointNotTrimmed
//     checks that a covered segment is not read at all.)

const (
	walKillEnv   = "LIVEDB_WAL_KILL"      // set in the child: the kill point
	walKillPath  = "LIVEDB_WAL_KILL_PATH" // set in the child: the database path
	walKillAcked = 20
)

func walKillSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{"n": v.Int64()})).Index("by_n", "n"),
	})
}

func TestDB_WAL_KillPoints(t *testing.T) {
	if point := os.Getenv(walKillEnv); point != "" {
		walKillChild(t, point, os.Getenv(walKillPath))
		return
	}
	for _, point := range []string{"appended", "checkpointed"} {
		t.Run(point, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kill.db")
			acked := runWALKillChild(t, point, path)
			if acked != walKillAcked {
				t.Fatalf("the child acknowledged %d commits before the kill, want %d", acked, walKillAcked)
			}
			segs, err := filepath.Glob(filepath.Join(path+"-wal", "*.wal"))
			if err != nil {
				t.Fatal(err)
			}
			if point == "checkpointed" && len(segs) < 2 {
				t.Fatalf("after a kill between checkpoint and trim the log has %d segments %q, want the covered one still there", len(segs), segs)
			}
			// Note 0 was deleted by the child; notes 1..walKillAcked-1
			// were acknowledged. The armed commit (note walKillAcked) is
			// there after "appended" (synced, never applied: replayed),
			// and may be after "checkpointed" (its commit may or may not
			// have run before the background checkpoint's kill).
			want := walKillAcked - 1
			db, err := livedb.Open(path, walKillSchema(), nil)
			if err != nil {
				t.Fatalf("reopen after the kill: %v", err)
			}
			defer db.Close()
			if err := db.Check(context.Background()); err != nil {
				t.Fatalf("Check after the kill: %v", err)
			}
			got := walKillNotes(t, db)
			if point == "appended" || point == "checkpointed" && len(got) == walKillAcked {
				want++
			}
			if len(got) != want || got[0] != 1 || got[len(got)-1] != int64(want) {
				t.Fatalf("notes after the kill at %q: %v, want 1..%d", point, got, want)
			}
			if point == "checkpointed" {
				after, _ := filepath.Glob(filepath.Join(path+"-wal", "*.wal"))
				if len(after) != 1 {
					t.Fatalf("after the reopen the log has segments %q, want the covered ones deleted", after)
				}
			}
		})
	}
}

// runWALKillChild runs the child and returns how many commits it
// acknowledged; it fails unless the child died of SIGKILL.
func runWALKillChild(t *testing.T, point, path string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDB_WAL_KillPoints$", "-test.count=1")
	cmd.Env = append(os.Environ(), walKillEnv+"="+point, walKillPath+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &ee) {
		t.Fatalf("child: %v (want killed by SIGKILL); stdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL at %q; stdout:\n%s\nstderr:\n%s", err, point, out, stderr.String())
	}
	acked := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			if _, err := strconv.Atoi(n); err == nil {
				acked++
			}
		}
	}
	return acked
}

// walKillChild commits notes 0..walKillAcked-1 (deleting note 0 once a
// checkpoint holds it), then arms the hook and commits once more.
func walKillChild(t *testing.T, point, path string) {
	armed := make(chan struct{})
	livedb.SetWALHook(func(p string) {
		select {
		case <-armed:
		default:
			return
		}
		if p == point {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	})
	ckptBytes := int64(1 << 40) // never by size: only at the child's request below
	if point == "checkpointed" {
		ckptBytes = 1 // after every commit
	}
	db, err := livedb.OpenCheckpointing(path, walKillSchema(), nil, ckptBytes)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx := context.Background()
	var first livedb.ID
	for i := range int64(walKillAcked) {
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			id, err := m.DB.Insert("notes", livedb.Doc{"n": i})
			if i == 0 {
				first = id
			}
			return err
		})
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		_, _ = os.Stdout.WriteString("ack " + strconv.FormatInt(i, 10) + "\n")
	}
	if err := db.Mutation(ctx, func(m *livedb.MutationCtx) error { return m.DB.Delete(first) }); err != nil {
		t.Fatalf("delete note 0: %v", err)
	}
	close(armed)
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("notes", livedb.Doc{"n": int64(walKillAcked)})
		return err
	})
	if err != nil {
		t.Fatalf("the armed insert: %v", err)
	}
	// "checkpointed": the commit above starts a background checkpoint,
	// whose hook kills the process; wait for it.
	<-time.After(time.Minute)
	t.Fatalf("not killed at %q within a minute of the armed commit", point)
}

// walKillNotes returns the n of every note, in order of n.
func walKillNotes(t *testing.T, db *livedb.DB) []int64 {
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
