package stores

import (
	"context"
	"fmt"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/livedb-go/livedb/bench/internal/workload"
)

// go-memdb: the in-memory reference. Objects are *workload.Session stored
// by pointer (never mutated after insert: an update inserts a copy). The
// indexes are radix trees; by_workflow is a compound index (workflowId,
// id) so that a page can resume after a given document with LowerBound.
type memStore struct {
	db     *memdb.MemDB
	seq    atomic.Uint64
	reruns atomic.Int64
}

const memTable = "sessions"

func openMemdb() (*memStore, error) {
	str := func(f string) memdb.Indexer { return &memdb.StringFieldIndex{Field: f} }
	schema := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		memTable: {
			Name: memTable,
			Indexes: map[string]*memdb.IndexSchema{
				"id":          {Name: "id", Unique: true, Indexer: str("ID")},
				"by_workflow": {Name: "by_workflow", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{str("WorkflowID"), str("ID")}}},
				"by_status":   {Name: "by_status", Indexer: str("Status")},
				"by_workflow_and_status": {Name: "by_workflow_and_status",
					Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{str("WorkflowID"), str("Status")}}},
			},
		},
	}}
	db, err := memdb.NewMemDB(schema)
	if err != nil {
		return nil, err
	}
	return &memStore{db: db}, nil
}

func (s *memStore) insert(txn *memdb.Txn, d workload.Session) (string, error) {
	d.ID = fmt.Sprintf("%016x", s.seq.Add(1))
	obj := d
	return d.ID, txn.Insert(memTable, &obj)
}

func (s *memStore) InsertBatch(docs []workload.Session) ([]string, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	ids := make([]string, 0, len(docs))
	for _, d := range docs {
		id, err := s.insert(txn, d)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	txn.Commit()
	return ids, nil
}

func (s *memStore) Insert(doc workload.Session) (string, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	id, err := s.insert(txn, doc)
	if err != nil {
		return "", err
	}
	txn.Commit()
	return id, nil
}

func (s *memStore) Get(id string) (string, error) {
	txn := s.db.Txn(false)
	x, err := txn.First(memTable, "id", id)
	if err != nil || x == nil {
		return "", fmt.Errorf("go-memdb: get %s: %v", id, err)
	}
	return x.(*workload.Session).WorkflowID, nil
}

func running(txn *memdb.Txn, wf string) ([]*workload.Session, <-chan struct{}, error) {
	it, err := txn.Get(memTable, "by_workflow_and_status", wf, workload.StatusRunning)
	if err != nil {
		return nil, nil, err
	}
	var out []*workload.Session
	for x := it.Next(); x != nil; x = it.Next() {
		out = append(out, x.(*workload.Session))
	}
	return out, it.WatchCh(), nil
}

func (s *memStore) Running(wf string) (int, error) {
	docs, _, err := running(s.db.Txn(false), wf)
	return len(docs), err
}

type memCursor struct{ wf, id string }

// page reads n documents of by_workflow after the cursor; only documents
// of wf when wf is not "".
func (s *memStore) page(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	c, _ := after.(memCursor)
	if c.wf == "" {
		c.wf = wf
	}
	txn := s.db.Txn(false)
	it, err := txn.LowerBound(memTable, "by_workflow", c.wf, c.id)
	if err != nil {
		return 0, nil, err
	}
	var out []*workload.Session
	for x := it.Next(); x != nil && len(out) < n; x = it.Next() {
		d := x.(*workload.Session)
		if wf != "" && d.WorkflowID != wf {
			break
		}
		if d.WorkflowID == c.wf && d.ID == c.id {
			continue // the cursor's own document
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return 0, c, nil
	}
	last := out[len(out)-1]
	return len(out), memCursor{last.WorkflowID, last.ID}, nil
}

func (s *memStore) PageWorkflow(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page(wf, after, n)
}

func (s *memStore) PageAll(after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page("", after, n)
}

func (s *memStore) set(id string, change func(d *workload.Session)) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	x, err := txn.First(memTable, "id", id)
	if err != nil || x == nil {
		return fmt.Errorf("go-memdb: get %s: %v", id, err)
	}
	d := *x.(*workload.Session)
	change(&d)
	if err := txn.Insert(memTable, &d); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

func (s *memStore) SetStatus(id, status string) error {
	return s.set(id, func(d *workload.Session) { d.Status = status })
}

func (s *memStore) SetOutput(id, output string) error {
	return s.set(id, func(d *workload.Session) { d.Output = output })
}

func (s *memStore) Close() error { return nil }

// Watch is go-memdb's pattern: run the query, add its iterator's WatchCh to
// a WatchSet, block until it fires, re-run. One goroutine per watcher.
func (s *memStore) Watch(wf string, onResult func(n int)) (func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			docs, ch, err := running(s.db.Txn(false), wf)
			if i == 0 {
				first <- err
			} else {
				s.reruns.Add(1)
			}
			if err != nil {
				return
			}
			if onResult != nil {
				onResult(len(docs))
			}
			ws := memdb.NewWatchSet()
			ws.Add(ch)
			if ws.WatchCtx(ctx) != nil {
				return
			}
		}
	}()
	if err := <-first; err != nil {
		cancel()
		return nil, err
	}
	return cancel, nil
}

func (s *memStore) Reruns() int64 { return s.reruns.Load() }
