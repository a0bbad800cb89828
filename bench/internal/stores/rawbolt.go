package stores

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/bench/internal/workload"
)

// Raw bbolt: the limit of a durable bbolt store. One bucket of documents
// (key: 8-byte big-endian sequence, value: encoding/json) and one bucket
// per index whose keys are the order-preserving concatenation
// field 0x00 field 0x00 … id, with empty values, maintained by hand in the
// same transaction. bbolt options match livedb's (1 GiB initial mmap, map
// freelist); fsync on every commit.
var (
	rbDocs      = []byte("sessions")
	rbByWf      = []byte("by_workflow")
	rbByStatus  = []byte("by_status")
	rbByWfState = []byte("by_workflow_and_status")
)

type rawBolt struct {
	db *bolt.DB

	// Hand-rolled broadcast for W8: closed and replaced after every commit.
	sigMu  sync.Mutex
	sig    chan struct{}
	reruns atomic.Int64
}

func boltOptions(noSync bool) *bolt.Options {
	return &bolt.Options{
		Timeout:         time.Second,
		NoSync:          noSync,
		InitialMmapSize: 1 << 30,
		FreelistType:    bolt.FreelistArrayType, // as livedb's bboltkv
	}
}

// docsForWrite returns the document bucket of a write transaction, tuned as
// livedb tunes its bucket: its keys are a sequence, so pages split at 90%
// full rather than bbolt's default half (a smaller file, fewer pages
// written by a bulk load).
func docsForWrite(tx *bolt.Tx) *bolt.Bucket {
	b := tx.Bucket(rbDocs)
	b.FillPercent = 0.9
	return b
}

// openRawBolt opens the file at path, creating the buckets unless they
// exist (a reopen for W7 writes nothing).
func openRawBolt(path string, noSync bool) (*rawBolt, error) {
	db, err := bolt.Open(path, 0o600, boltOptions(noSync))
	if err != nil {
		return nil, err
	}
	buckets := [][]byte{rbDocs, rbByWf, rbByStatus, rbByWfState}
	missing := false
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			missing = missing || tx.Bucket(b) == nil
		}
		return nil
	})
	if err == nil && missing {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range buckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &rawBolt{db: db, sig: make(chan struct{})}, nil
}

// ixKey builds fields… id, each field followed by 0x00 (the fields never
// contain 0x00), the 8-byte id last.
func ixKey(id []byte, fields ...string) []byte {
	n := len(id)
	for _, f := range fields {
		n += len(f) + 1
	}
	k := make([]byte, 0, n)
	for _, f := range fields {
		k = append(k, f...)
		k = append(k, 0)
	}
	return append(k, id...)
}

func putIndexes(tx *bolt.Tx, id []byte, s *workload.Session) error {
	if err := tx.Bucket(rbByWf).Put(ixKey(id, s.WorkflowID), nil); err != nil {
		return err
	}
	if err := tx.Bucket(rbByStatus).Put(ixKey(id, s.Status), nil); err != nil {
		return err
	}
	return tx.Bucket(rbByWfState).Put(ixKey(id, s.WorkflowID, s.Status), nil)
}

func rbInsert(tx *bolt.Tx, s workload.Session) (string, error) {
	b := docsForWrite(tx)
	seq, err := b.NextSequence()
	if err != nil {
		return "", err
	}
	id := binary.BigEndian.AppendUint64(nil, seq)
	val, err := json.Marshal(&s)
	if err != nil {
		return "", err
	}
	if err := b.Put(id, val); err != nil {
		return "", err
	}
	return string(id), putIndexes(tx, id, &s)
}

func (s *rawBolt) commit() {
	s.sigMu.Lock()
	close(s.sig)
	s.sig = make(chan struct{})
	s.sigMu.Unlock()
}

func (s *rawBolt) update(fn func(tx *bolt.Tx) error) error {
	if err := s.db.Update(fn); err != nil {
		return err
	}
	s.commit()
	return nil
}

func (s *rawBolt) InsertBatch(docs []workload.Session) ([]string, error) {
	ids := make([]string, 0, len(docs))
	err := s.update(func(tx *bolt.Tx) error {
		for _, d := range docs {
			id, err := rbInsert(tx, d)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

func (s *rawBolt) Insert(doc workload.Session) (id string, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		id, err = rbInsert(tx, doc)
		return err
	})
	return id, err
}

// InsertGrouped inserts through bbolt's DB.Batch, which groups concurrent
// calls into one transaction (and one fsync).
func (s *rawBolt) InsertGrouped(doc workload.Session) (id string, err error) {
	err = s.db.Batch(func(tx *bolt.Tx) error {
		id, err = rbInsert(tx, doc)
		return err
	})
	return id, err
}

func rbGet(tx *bolt.Tx, id []byte, out *workload.Session) error {
	v := tx.Bucket(rbDocs).Get(id)
	if v == nil {
		return fmt.Errorf("raw bbolt: %x not found", id)
	}
	return json.Unmarshal(v, out)
}

func (s *rawBolt) Get(id string) (string, error) {
	var doc workload.Session
	err := s.db.View(func(tx *bolt.Tx) error { return rbGet(tx, []byte(id), &doc) })
	return doc.WorkflowID, err
}

// scan decodes up to n documents (n < 0: all) of the index bucket ix whose
// keys have prefix, starting after the key after (nil: from the start).
func scan(tx *bolt.Tx, ix []byte, prefix, after []byte, n int) ([]workload.Session, []byte, error) {
	c := tx.Bucket(ix).Cursor()
	docs := tx.Bucket(rbDocs)
	var k []byte
	if after != nil {
		k, _ = c.Seek(after)
		if bytes.Equal(k, after) {
			k, _ = c.Next()
		}
	} else {
		k, _ = c.Seek(prefix)
	}
	var out []workload.Session
	var last []byte
	for ; k != nil && bytes.HasPrefix(k, prefix) && (n < 0 || len(out) < n); k, _ = c.Next() {
		v := docs.Get(k[len(k)-8:])
		if v == nil {
			return nil, nil, errors.New("raw bbolt: index entry without document")
		}
		var d workload.Session
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, nil, err
		}
		out = append(out, d)
		last = k
	}
	return out, bytes.Clone(last), nil
}

func (s *rawBolt) Running(wf string) (int, error) {
	var docs []workload.Session
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		docs, _, err = scan(tx, rbByWfState, ixKey(nil, wf, workload.StatusRunning), nil, -1)
		return err
	})
	return len(docs), err
}

func (s *rawBolt) page(prefix []byte, after workload.Cursor, n int) (int, workload.Cursor, error) {
	a, _ := after.([]byte)
	var docs []workload.Session
	var last []byte
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		docs, last, err = scan(tx, rbByWf, prefix, a, n)
		return err
	})
	return len(docs), last, err
}

func (s *rawBolt) PageWorkflow(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page(ixKey(nil, wf), after, n)
}

func (s *rawBolt) PageAll(after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page(nil, after, n)
}

func (s *rawBolt) SetStatus(id, status string) error {
	return s.update(func(tx *bolt.Tx) error {
		key := []byte(id)
		var d workload.Session
		if err := rbGet(tx, key, &d); err != nil {
			return err
		}
		if err := tx.Bucket(rbByStatus).Delete(ixKey(key, d.Status)); err != nil {
			return err
		}
		if err := tx.Bucket(rbByWfState).Delete(ixKey(key, d.WorkflowID, d.Status)); err != nil {
			return err
		}
		d.Status = status
		val, err := json.Marshal(&d)
		if err != nil {
			return err
		}
		if err := docsForWrite(tx).Put(key, val); err != nil {
			return err
		}
		if err := tx.Bucket(rbByStatus).Put(ixKey(key, d.Status), nil); err != nil {
			return err
		}
		return tx.Bucket(rbByWfState).Put(ixKey(key, d.WorkflowID, d.Status), nil)
	})
}

func (s *rawBolt) SetOutput(id, output string) error {
	return s.update(func(tx *bolt.Tx) error {
		key := []byte(id)
		var d workload.Session
		if err := rbGet(tx, key, &d); err != nil {
			return err
		}
		d.Output = output
		val, err := json.Marshal(&d)
		if err != nil {
			return err
		}
		return docsForWrite(tx).Put(key, val)
	})
}

func (s *rawBolt) Close() error { return s.db.Close() }

// Watch is a hand-rolled broadcast, what a raw bbolt user would write:
// every commit wakes every watcher, which re-runs its query. It is the
// reference for W8, not a feature of bbolt.
func (s *rawBolt) Watch(wf string, onResult func(n int)) (func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			s.sigMu.Lock()
			sig := s.sig
			s.sigMu.Unlock()
			n, err := s.Running(wf)
			if i == 0 {
				first <- err
			} else {
				s.reruns.Add(1)
			}
			if err == nil && onResult != nil {
				onResult(n)
			}
			select {
			case <-sig:
			case <-ctx.Done():
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

func (s *rawBolt) Reruns() int64 { return s.reruns.Load() }
