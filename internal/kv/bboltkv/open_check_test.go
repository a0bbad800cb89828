package bboltkv_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv/bboltkv"
)

// TestOpen_ChecksMetaBeforeBbolt checks that a read-write Open refuses a
// file whose meta page puts the freelist outside the file's pages with the
// direct check's own error (checkHeader, run on the descriptor bbolt then
// uses), before bbolt reads the freelist through its memory map, where it
// would fault.
func TestOpen_ChecksMetaBeforeBbolt(t *testing.T) {
	data := validFile(t, 2000)
	pageSize := os.Getpagesize()
	pages := len(data) / pageSize
	setMetaField(data, newestMeta(data, pageSize), 48, uint64(pages+5))
	path := tempPath(t)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := bboltkv.Open(path, &bboltkv.Options{Timeout: 100 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted the file")
	}
	if !errors.Is(err, bboltkv.ErrCorrupt) || !strings.Contains(err.Error(), "puts the freelist at page") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open = %v, want the meta check's ErrCorrupt naming the file", err)
	}
	MustUnchanged(t, path, data)
}
