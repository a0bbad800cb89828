package stores

import (
	"fmt"
	"strconv"

	"github.com/timshannon/bolthold"
	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/bench/internal/workload"
)

// bhSession is the bolthold form of a session: struct-tag indexes on
// WorkflowID and Status (bolthold has no compound index), uint64 sequence
// keys, bolthold's default gob encoding.
type bhSession struct {
	Key        uint64 `boltholdKey:"Key"`
	WorkflowID string `boltholdIndex:"WorkflowID"`
	Status     string `boltholdIndex:"Status"`
	AgentType  string
	StartedAt  int64
	Input      string
	Output     string
}

func toBH(s workload.Session) bhSession {
	return bhSession{WorkflowID: s.WorkflowID, Status: s.Status, AgentType: s.AgentType,
		StartedAt: s.StartedAt, Input: s.Input, Output: s.Output}
}

type bhStore struct{ s *bolthold.Store }

func openBolthold(path string, noSync bool) (*bhStore, error) {
	s, err := bolthold.Open(path, 0o600, &bolthold.Options{Options: boltOptions(noSync)})
	if err != nil {
		return nil, err
	}
	return &bhStore{s: s}, nil
}

func (s *bhStore) InsertBatch(docs []workload.Session) ([]string, error) {
	ids := make([]string, 0, len(docs))
	err := s.s.Bolt().Update(func(tx *bolt.Tx) error {
		ids = ids[:0]
		for _, d := range docs {
			rec := toBH(d)
			if err := s.s.TxInsert(tx, bolthold.NextSequence(), &rec); err != nil {
				return err
			}
			ids = append(ids, strconv.FormatUint(rec.Key, 10))
		}
		return nil
	})
	return ids, err
}

func (s *bhStore) Insert(doc workload.Session) (string, error) {
	rec := toBH(doc)
	if err := s.s.Insert(bolthold.NextSequence(), &rec); err != nil {
		return "", err
	}
	return strconv.FormatUint(rec.Key, 10), nil
}

func key(id string) uint64 {
	k, _ := strconv.ParseUint(id, 10, 64)
	return k
}

func (s *bhStore) Get(id string) (string, error) {
	var rec bhSession
	err := s.s.Get(key(id), &rec)
	return rec.WorkflowID, err
}

// Running has no compound index to use: it narrows by the WorkflowID
// index and filters on Status.
func (s *bhStore) Running(wf string) (int, error) {
	var recs []bhSession
	err := s.s.Find(&recs, bolthold.Where("WorkflowID").Eq(wf).And("Status").Eq(workload.StatusRunning).Index("WorkflowID"))
	return len(recs), err
}

// PageWorkflow uses bolthold's offset pagination (Skip/Limit); the cursor
// is the offset.
func (s *bhStore) PageWorkflow(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	off, _ := after.(int)
	var recs []bhSession
	err := s.s.Find(&recs, bolthold.Where("WorkflowID").Eq(wf).Index("WorkflowID").Skip(off).Limit(n))
	return len(recs), off + len(recs), err
}

// PageAll pages the whole bucket in key order with Skip/Limit.
func (s *bhStore) PageAll(after workload.Cursor, n int) (int, workload.Cursor, error) {
	off, _ := after.(int)
	var recs []bhSession
	err := s.s.Find(&recs, (&bolthold.Query{}).Skip(off).Limit(n))
	return len(recs), off + len(recs), err
}

func (s *bhStore) set(id string, change func(r *bhSession)) error {
	return s.s.Bolt().Update(func(tx *bolt.Tx) error {
		var rec bhSession
		if err := s.s.TxGet(tx, key(id), &rec); err != nil {
			return fmt.Errorf("bolthold: get %s: %w", id, err)
		}
		change(&rec)
		return s.s.TxUpdate(tx, key(id), &rec)
	})
}

func (s *bhStore) SetStatus(id, status string) error {
	return s.set(id, func(r *bhSession) { r.Status = status })
}

func (s *bhStore) SetOutput(id, output string) error {
	return s.set(id, func(r *bhSession) { r.Output = output })
}

func (s *bhStore) Close() error { return s.s.Close() }
