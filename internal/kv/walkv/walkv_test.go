package walkv_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/walkv"
	"github.com/livedb-go/livedb/internal/wal"
)

func mustOpen(t *testing.T, path string, o *walkv.Options) *walkv.Store {
	t.Helper()
	s, err := walkv.Open(path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "test.db") }

// noCkpt keeps the background checkpoints away during a test: they run
// when the test asks (Checkpoint) and at Close.
var noCkpt = &walkv.Options{NoSync: true, CheckpointAge: time.Hour}

func TestStore_Conformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return mustOpen(t, tempPath(t), &walkv.Options{NoSync: true})
	})
}

// TestStore_Conformance_Checkpoints runs the suite with a checkpoint after
// every other commit, so that reads merge keys split between the overlay
// and bbolt, deletions in the overlay hide keys in bbolt, and snapshots
// are held across checkpoints.
func TestStore_Conformance_Checkpoints(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return &checkpointing{Store: mustOpen(t, tempPath(t), noCkpt)}
	})
}

// TestStore_Conformance_BackgroundCheckpoints runs the suite with a
// background checkpoint after every commit (CheckpointBytes of 1), racing
// the suite's reads and commits.
func TestStore_Conformance_BackgroundCheckpoints(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return mustOpen(t, tempPath(t), &walkv.Options{NoSync: true, CheckpointBytes: 1})
	})
}

// checkpointing checkpoints after every other successful commit.
type checkpointing struct {
	*walkv.Store
	n atomic.Int64
}

func (c *checkpointing) Commit(b *kv.Batch) error {
	if err := c.Store.Commit(b); err != nil {
		return err
	}
	if c.n.Add(1)%2 == 0 {
		if err := c.Store.Checkpoint(); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil
}

func commit(t *testing.T, s kv.Store, kvs ...string) {
	t.Helper()
	var b kv.Batch
	for i := 0; i < len(kvs); i += 2 {
		if kvs[i+1] == "-" {
			b.Delete([]byte(kvs[i]))
		} else {
			b.Put([]byte(kvs[i]), []byte(kvs[i+1]))
		}
	}
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit %v: %v", kvs, err)
	}
}

// dump returns the store's pairs as "k=v" in the given direction over
// [start, end).
func dump(t *testing.T, sn kv.Snapshot, start, end string, reverse bool) []string {
	t.Helper()
	var s, e []byte
	if start != "" {
		s = []byte(start)
	}
	if end != "" {
		e = []byte(end)
	}
	it := sn.Iter(s, e, reverse)
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate: %v", err)
	}
	return out
}

func snap(t *testing.T, s kv.Store) kv.Snapshot {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Cleanup(sn.Release)
	return sn
}

// dumpNow returns every pair of a new snapshot, released before it
// returns.
func dumpNow(t *testing.T, s kv.Store) []string {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer sn.Release()
	return dump(t, sn, "", "", false)
}

func wantList(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestStore_Iter_OverlayOverBolt checks the merge: keys in bbolt only, in
// the overlay only, in both (the overlay's value wins), and deleted in the
// overlay (hidden), both ways and within bounds, on the active layer over
// bbolt and after a checkpoint.
func TestStore_Iter_OverlayOverBolt(t *testing.T) {
	s := mustOpen(t, tempPath(t), noCkpt)
	commit(t, s, "a", "1", "b", "1", "c", "1", "d", "1", "f", "1")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "b", "2", "c", "-", "e", "2", "f", "-", "g", "2", "a0", "2")
	sn := snap(t, s)
	all := []string{"a=1", "a0=2", "b=2", "d=1", "e=2", "g=2"}
	wantList(t, dump(t, sn, "", "", false), all...)
	rev := slices.Clone(all)
	slices.Reverse(rev)
	wantList(t, dump(t, sn, "", "", true), rev...)
	wantList(t, dump(t, sn, "a0", "e", false), "a0=2", "b=2", "d=1")
	wantList(t, dump(t, sn, "a0", "e", true), "d=1", "b=2", "a0=2")
	wantList(t, dump(t, sn, "c", "d", false))
	wantList(t, dump(t, sn, "f", "", true), "g=2")
	for k, want := range map[string]string{"a": "1", "b": "2", "c": "", "f": "", "g": "2", "zz": ""} {
		v, ok, err := sn.Get([]byte(k))
		if err != nil || ok != (want != "") || string(v) != want {
			t.Fatalf("Get(%q) = %q, %v, %v; want %q", k, v, ok, err, want)
		}
	}
	// The snapshot stays as it was across a checkpoint and later commits;
	// a new snapshot sees the checkpointed state, now all in bbolt.
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "a", "-", "h", "3")
	wantList(t, dump(t, sn, "", "", false), all...)
	wantList(t, dumpNow(t, s), "a0=2", "b=2", "d=1", "e=2", "g=2", "h=3")
}

// TestStore_Open_Replays checks that commits not checkpointed survive a
// reopen from the log alone: the bbolt file is copied before them and the
// log after them, as a crash leaves them.
func TestStore_Open_Replays(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, noCkpt)
	commit(t, s, "a", "1", "b", "1")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "a", "2", "b", "-", "c", "2")
	commit(t, s, "d", "3")
	crash := crashCopy(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, crash} {
		r := mustOpen(t, p, noCkpt)
		wantList(t, dumpNow(t, r), "a=2", "c=2", "d=3")
		commit(t, r, "e", "4")
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		r = mustOpen(t, p, noCkpt)
		wantList(t, dumpNow(t, r), "a=2", "c=2", "d=3", "e=4")
	}
}

// crashCopy copies the bbolt file and the log of an open store with no
// commit or checkpoint running, as a crash would leave them.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "crash.db")
	copyFile(t, path, dst)
	if err := os.Mkdir(dst+"-wal", 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		copyFile(t, filepath.Join(path+"-wal", e.Name()), filepath.Join(dst+"-wal", e.Name()))
	}
	return dst
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func segmentFiles(t *testing.T, path string) []string {
	t.Helper()
	ents, err := os.ReadDir(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(path+"-wal", e.Name()))
	}
	return out
}

// TestStore_Checkpoint_Trims checks that a checkpoint deletes the segments
// it covers and leaves one, empty, for the commits that follow.
func TestStore_Checkpoint_Trims(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, noCkpt)
	for i := range 3 {
		commit(t, s, fmt.Sprint("k", i), "v")
		if err := s.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	segs := segmentFiles(t, path)
	if len(segs) != 1 || filepath.Base(segs[0]) != fmt.Sprintf("%020d.wal", 4) {
		t.Fatalf("segments %q after 3 checkpoints of one commit each, want only %020d.wal", segs, 4)
	}
	if fi, err := os.Stat(segs[0]); err != nil || fi.Size() != 16 {
		t.Fatalf("the new segment: %v, %v; want a 16-byte header only", fi, err)
	}
}

// records returns the byte offset of each record of a segment and the end
// of the last one.
func records(t *testing.T, path string) (offs []int, end int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 16
	for off+16 <= len(b) && binary.LittleEndian.Uint64(b[off+8:]) != 0 {
		offs = append(offs, off)
		off += 16 + int(binary.LittleEndian.Uint32(b[off:]))
	}
	return offs, off
}

func patch(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// damaged returns the copy a crash would leave of a store whose log holds
// three commits (k0, k1, k2) beyond its checkpoint, and its one segment.
func damaged(t *testing.T) (path, seg string) {
	t.Helper()
	src := tempPath(t)
	s := mustOpen(t, src, noCkpt)
	for i := range 3 {
		commit(t, s, fmt.Sprint("k", i), "v")
	}
	path = crashCopy(t, src)
	segs := segmentFiles(t, path)
	if len(segs) != 1 {
		t.Fatalf("segments %q, want one", segs)
	}
	return path, segs[0]
}

// TestStore_Open_TornTail checks that a torn last record (cut anywhere, or
// with a flipped byte) is cut off, the records before it kept, and the
// log appended to after it.
func TestStore_Open_TornTail(t *testing.T) {
	for _, how := range []string{"cut head", "cut payload", "flip payload"} {
		t.Run(how, func(t *testing.T) {
			path, seg := damaged(t)
			offs, end := records(t, seg)
			last := offs[len(offs)-1]
			patch(t, seg, func(b []byte) []byte {
				switch how {
				case "cut head":
					return b[:last+5]
				case "cut payload":
					return b[:end-1]
				}
				b[end-1] ^= 0xff
				return b
			})
			s := mustOpen(t, path, noCkpt)
			if fi, err := os.Stat(seg); err != nil || fi.Size() != int64(last) {
				t.Fatalf("the segment after Open: %v, %v; want cut to %d bytes", fi, err, last)
			}
			wantList(t, dumpNow(t, s), "k0=v", "k1=v")
			commit(t, s, "k9", "v")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, path, noCkpt)
			wantList(t, dumpNow(t, s), "k0=v", "k1=v", "k9=v")
		})
	}
}

// TestStore_Open_CorruptMiddle checks that a damaged record followed by a
// valid one is refused with ErrCorrupt naming the segment and the byte,
// and that nothing is cut.
func TestStore_Open_CorruptMiddle(t *testing.T) {
	path, seg := damaged(t)
	offs, _ := records(t, seg)
	patch(t, seg, func(b []byte) []byte { b[offs[1]+20] ^= 0xff; return b })
	before, _ := os.ReadFile(seg)
	_, err := walkv.Open(path, noCkpt)
	if !errors.Is(err, walkv.ErrCorrupt) || !errors.Is(err, bboltkv.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt (walkv's and bboltkv's)", err)
	}
	if msg := err.Error(); !strings.Contains(msg, seg) || !strings.Contains(msg, fmt.Sprintf("byte %d", offs[1])) {
		t.Fatalf("the error %q does not name the segment %s and byte %d", msg, seg, offs[1])
	}
	after, _ := os.ReadFile(seg)
	if !slices.Equal(before, after) {
		t.Fatal("Open changed a log it refused")
	}
}

// TestStore_Open_BadHeader checks that a segment with a bad magic, or of a
// newer format version, is refused.
func TestStore_Open_BadHeader(t *testing.T) {
	for _, how := range []string{"magic", "version"} {
		t.Run(how, func(t *testing.T) {
			path, seg := damaged(t)
			patch(t, seg, func(b []byte) []byte {
				if how == "magic" {
					b[0] = 'X'
					return b
				}
				binary.LittleEndian.PutUint32(b[8:], wal.Version+1)
				// A valid header checksum: only the version is wrong.
				binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], crc32.MakeTable(crc32.Castagnoli)))
				return b
			})
			_, err := walkv.Open(path, noCkpt)
			want := wal.ErrNotLog
			if how == "version" {
				want = wal.ErrVersion
			}
			if !errors.Is(err, walkv.ErrCorrupt) || !strings.Contains(err.Error(), want.Error()) {
				t.Fatalf("Open = %v, want ErrCorrupt saying %q", err, want)
			}
		})
	}
}

// TestStore_Open_MissingSegment checks that a gap between the checkpoint
// and the log (a deleted segment) is refused rather than skipped.
func TestStore_Open_MissingSegment(t *testing.T) {
	src := tempPath(t)
	s := mustOpen(t, src, noCkpt)
	commit(t, s, "a", "1")
	path := crashCopy(t, src) // checkpoint 0, the segment from 1
	commit(t, s, "b", "2")
	if err := s.Checkpoint(); err != nil { // a segment from 3
		t.Fatal(err)
	}
	commit(t, s, "c", "3")
	if err := os.RemoveAll(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path+"-wal", 0o700); err != nil {
		t.Fatal(err)
	}
	for _, seg := range segmentFiles(t, src) {
		copyFile(t, seg, filepath.Join(path+"-wal", filepath.Base(seg)))
	}
	_, err := walkv.Open(path, noCkpt)
	if !errors.Is(err, walkv.ErrCorrupt) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open = %v, want ErrCorrupt saying a segment is missing", err)
	}
}

// TestStore_Open_CheckpointNotTrimmed checks a crash between a checkpoint
// and the deletion of its segments: the covered segment, whose records
// bbolt holds already, is not read (it is damaged here, which would be
// refused in a segment that is read) and is deleted, and the state is the
// checkpoint's plus the later commits.
func TestStore_Open_CheckpointNotTrimmed(t *testing.T) {
	src := tempPath(t)
	s := mustOpen(t, src, noCkpt)
	commit(t, s, "a", "1", "b", "1")
	oldSegs := segmentFiles(t, src)
	saved := map[string][]byte{}
	for _, p := range oldSegs {
		b, _ := os.ReadFile(p)
		saved[filepath.Base(p)] = b
	}
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "a", "-")
	path := crashCopy(t, src)
	for name, b := range saved { // the segments the checkpoint deleted
		b[len(b)-1] ^= 0xff
		if err := os.WriteFile(filepath.Join(path+"-wal", name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := mustOpen(t, path, noCkpt)
	wantList(t, dumpNow(t, r), "b=1")
	if got := len(segmentFiles(t, path)); got != 1 {
		t.Fatalf("%d segments after Open, want the covered one deleted", got)
	}
}

// TestStore_ReadOnly_SeesLog checks that a read-only open sees the commits
// only the log holds, and writes nothing: neither bbolt nor the log.
func TestStore_ReadOnly_SeesLog(t *testing.T) {
	src := tempPath(t)
	s := mustOpen(t, src, noCkpt)
	commit(t, s, "a", "1")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "b", "2")
	path := crashCopy(t, src)
	segs := segmentFiles(t, path)
	before, _ := os.ReadFile(segs[0])
	boltBefore, _ := os.ReadFile(path)
	r := mustOpen(t, path, &walkv.Options{ReadOnly: true})
	wantList(t, dumpNow(t, r), "a=1", "b=2")
	var b kv.Batch
	b.Put([]byte("c"), []byte("3"))
	if err := r.Commit(&b); !errors.Is(err, bboltkv.ErrReadOnly) || !errors.Is(err, kv.ErrRejected) {
		t.Fatalf("Commit on a read-only store = %v, want ErrReadOnly", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(segs[0])
	boltAfter, _ := os.ReadFile(path)
	if !slices.Equal(before, after) || !slices.Equal(boltBefore, boltAfter) {
		t.Fatal("a read-only open changed the files")
	}
}

// TestStore_Commit_Backpressure checks that commits wait, rather than
// grow the overlay without bound, while a checkpoint runs with the active
// layer full: the hook holds the checkpoint after its bbolt transaction
// until a commit has been seen waiting.
func TestStore_Commit_Backpressure(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	waiting := make(chan struct{}, 1)
	walkv.Hook = func(point string) {
		switch point {
		case "checkpointed":
			select {
			case entered <- struct{}{}:
				<-release
			default:
			}
		case "waiting":
			select {
			case waiting <- struct{}{}:
			default:
			}
		}
	}
	t.Cleanup(func() { walkv.Hook = nil })
	s := mustOpen(t, tempPath(t), &walkv.Options{NoSync: true, CheckpointAge: time.Hour, CheckpointBytes: 1 << 10, MaxOverlayBytes: 1 << 10})
	// Runs before the store's Close (cleanups run last first), so that a
	// test that fails while the hook holds the checkpoint ends instead of
	// Close waiting for it forever.
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	big := strings.Repeat("x", 2<<10)
	commit(t, s, "a", big) // the active layer is over CheckpointBytes: a checkpoint starts
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("no checkpoint started within a minute of a commit over CheckpointBytes")
	}
	commit(t, s, "b", big) // the active layer is full again
	third := make(chan error, 1)
	go func() {
		var b kv.Batch
		b.Put([]byte("c"), []byte("3"))
		third <- s.Commit(&b)
	}()
	select {
	case err := <-third:
		t.Fatalf("a commit over MaxOverlayBytes returned (%v) while the checkpoint ran", err)
	case <-waiting:
	case <-time.After(time.Minute):
		t.Fatal("the commit over MaxOverlayBytes did not wait within a minute")
	}
	select {
	case err := <-third:
		t.Fatalf("a commit over MaxOverlayBytes returned (%v) while the checkpoint ran", err)
	default:
	}
	unblock()
	select {
	case err := <-third:
		if err != nil {
			t.Fatalf("commit after the checkpoint: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the waiting commit did not finish within a minute of the checkpoint")
	}
	wantList(t, dump(t, snap(t, s), "c", "", false), "c=3")
}

// TestStore_Checkpoint_LogGone checks that a checkpoint that cannot start
// a new segment (the log directory was deleted under the open store)
// fails the store with an error, which every later commit returns, rather
// than crashing it.
func TestStore_Checkpoint_LogGone(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, noCkpt)
	commit(t, s, "a", "1")
	if err := os.RemoveAll(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	err := s.Checkpoint()
	if err == nil {
		t.Fatal("Checkpoint with the log directory gone succeeded")
	}
	var b kv.Batch
	b.Put([]byte("b"), []byte("2"))
	if err2 := s.Commit(&b); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("Commit after the failed checkpoint = %v, want its error %v", err2, err)
	}
	wantList(t, dumpNow(t, s), "a=1") // reads go on
}
