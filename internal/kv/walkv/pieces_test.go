package walkv_test

import (
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// TestStore_Conformance_CheckpointPieces runs the suite with background
// checkpoints after every commit written two keys per bbolt transaction,
// so that reads race checkpoints whose bbolt state is partly written.
func TestStore_Conformance_CheckpointPieces(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return mustOpen(t, tempPath(t), &walkv.Options{NoSync: true, CheckpointBytes: 1, CheckpointPieceOps: 2})
	})
}

// TestStore_Checkpoint_CrashBetweenPieces checks a checkpoint written in
// pieces: while it is between two pieces, a snapshot sees the whole
// state, and the files as a crash there leaves them (bbolt holding the
// first piece under the previous checkpoint's sequence number) open to the
// whole state, the log replayed over the partial piece.
func TestStore_Checkpoint_CrashBetweenPieces(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, &walkv.Options{NoSync: true, CheckpointAge: time.Hour, CheckpointPieceOps: 2})
	commit(t, s, "a", "1", "b", "1", "c", "1", "d", "1", "e", "1")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "a", "2", "b", "-", "c", "2")
	commit(t, s, "d", "-", "f", "3", "g", "3")
	want := []string{"a=2", "c=2", "e=1", "f=3", "g=3"}

	var crash string
	pieces := 0
	walkv.Hook = func(point string) {
		if point != "piece" {
			return
		}
		pieces++
		if pieces == 1 {
			wantList(t, dumpNow(t, s), want...)
			crash = crashCopy(t, path)
		}
	}
	t.Cleanup(func() { walkv.Hook = nil })
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	walkv.Hook = nil
	// 6 keys, 2 a piece: two pieces before the last.
	if pieces != 2 {
		t.Fatalf("the checkpoint of 6 keys in pieces of 2 ran %d pieces before its last, want 2", pieces)
	}
	wantList(t, dumpNow(t, s), want...)

	// The crash copy's bbolt file holds the first piece (a=2, the delete
	// of b) under the first checkpoint's sequence number.
	b, err := bboltkv.Open(crash, &bboltkv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := b.CheckpointSeq()
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, dumpNow(t, b), "a=2", "c=1", "d=1", "e=1")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if seq != 1 {
		t.Fatalf("bbolt between pieces records checkpoint %d, want 1 (the first checkpoint's)", seq)
	}
	r := mustOpen(t, crash, noCkpt)
	wantList(t, dumpNow(t, r), want...)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = mustOpen(t, crash, noCkpt)
	wantList(t, dumpNow(t, r), want...)
}
