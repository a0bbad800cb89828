package stores

import (
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/tidwall/buntdb"

	"github.com/livedb-go/livedb/bench/internal/workload"
)

// buntdb: keys "s:<16 hex digits>", values the session as JSON (with its
// id, which the by_workflow index needs as a tie-breaker so that a page
// can resume from a pivot). Indexes are buntdb's IndexJSON, rebuilt on
// every open (buntdb does not persist them). SyncPolicy Always: fsync on
// every commit, as bbolt does.
type buntStore struct {
	db  *buntdb.DB
	seq atomic.Uint64
}

func openBuntdb(path string, sync buntdb.SyncPolicy) (*buntStore, error) {
	db, err := buntdb.Open(path)
	if err != nil {
		return nil, err
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		db.Close()
		return nil, err
	}
	cfg.SyncPolicy = sync
	if err := db.SetConfig(cfg); err != nil {
		db.Close()
		return nil, err
	}
	idx := []struct {
		name string
		less []func(a, b string) bool
	}{
		{"by_workflow", []func(a, b string) bool{buntdb.IndexJSON("workflowId"), buntdb.IndexJSON("id")}},
		{"by_status", []func(a, b string) bool{buntdb.IndexJSON("status")}},
		{"by_workflow_and_status", []func(a, b string) bool{buntdb.IndexJSON("workflowId"), buntdb.IndexJSON("status")}},
	}
	for _, ix := range idx {
		if err := db.CreateIndex(ix.name, "s:*", ix.less...); err != nil {
			db.Close()
			return nil, err
		}
	}
	st := &buntStore{db: db}
	err = db.View(func(tx *buntdb.Tx) error {
		n, err := tx.Len()
		st.seq.Store(uint64(n))
		return err
	})
	return st, err
}

func (s *buntStore) set(tx *buntdb.Tx, d workload.Session) (string, error) {
	d.ID = fmt.Sprintf("s:%016x", s.seq.Add(1))
	b, err := json.Marshal(&d)
	if err != nil {
		return "", err
	}
	_, _, err = tx.Set(d.ID, string(b), nil)
	return d.ID, err
}

func (s *buntStore) InsertBatch(docs []workload.Session) ([]string, error) {
	ids := make([]string, 0, len(docs))
	err := s.db.Update(func(tx *buntdb.Tx) error {
		ids = ids[:0]
		for _, d := range docs {
			id, err := s.set(tx, d)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

func (s *buntStore) Insert(doc workload.Session) (id string, err error) {
	err = s.db.Update(func(tx *buntdb.Tx) error {
		id, err = s.set(tx, doc)
		return err
	})
	return id, err
}

func (s *buntStore) Get(id string) (string, error) {
	var d workload.Session
	err := s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(id)
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(v), &d)
	})
	return d.WorkflowID, err
}

func (s *buntStore) Running(wf string) (int, error) {
	pivot, _ := json.Marshal(map[string]string{"workflowId": wf, "status": workload.StatusRunning})
	var out []workload.Session
	err := s.db.View(func(tx *buntdb.Tx) error {
		var ierr error
		err := tx.AscendEqual("by_workflow_and_status", string(pivot), func(_, v string) bool {
			var d workload.Session
			if ierr = json.Unmarshal([]byte(v), &d); ierr != nil {
				return false
			}
			out = append(out, d)
			return true
		})
		if err != nil {
			return err
		}
		return ierr
	})
	return len(out), err
}

type buntCursor struct{ wf, id string }

// page re-seeks from a pivot (workflowId, id) in by_workflow, skipping the
// cursor's own document; only documents of wf when wf is not "".
func (s *buntStore) page(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	c, _ := after.(buntCursor)
	if c.wf == "" {
		c.wf = wf
	}
	pivot, _ := json.Marshal(map[string]string{"workflowId": c.wf, "id": c.id})
	var out []workload.Session
	err := s.db.View(func(tx *buntdb.Tx) error {
		var ierr error
		err := tx.AscendGreaterOrEqual("by_workflow", string(pivot), func(k, v string) bool {
			var d workload.Session
			if ierr = json.Unmarshal([]byte(v), &d); ierr != nil {
				return false
			}
			if wf != "" && d.WorkflowID != wf {
				return false
			}
			if d.WorkflowID == c.wf && d.ID == c.id {
				return true
			}
			out = append(out, d)
			return len(out) < n
		})
		if err != nil {
			return err
		}
		return ierr
	})
	if err != nil || len(out) == 0 {
		return 0, c, err
	}
	last := out[len(out)-1]
	return len(out), buntCursor{last.WorkflowID, last.ID}, nil
}

func (s *buntStore) PageWorkflow(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page(wf, after, n)
}

func (s *buntStore) PageAll(after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page("", after, n)
}

func (s *buntStore) update(id string, change func(d *workload.Session)) error {
	return s.db.Update(func(tx *buntdb.Tx) error {
		v, err := tx.Get(id)
		if err != nil {
			return fmt.Errorf("buntdb: get %s: %w", id, err)
		}
		var d workload.Session
		if err := json.Unmarshal([]byte(v), &d); err != nil {
			return err
		}
		change(&d)
		b, err := json.Marshal(&d)
		if err != nil {
			return err
		}
		_, _, err = tx.Set(id, string(b), nil)
		return err
	})
}

func (s *buntStore) SetStatus(id, status string) error {
	return s.update(id, func(d *workload.Session) { d.Status = status })
}

func (s *buntStore) SetOutput(id, output string) error {
	return s.update(id, func(d *workload.Session) { d.Output = output })
}

func (s *buntStore) Close() error { return s.db.Close() }
