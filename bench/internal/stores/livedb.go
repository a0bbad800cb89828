package stores

import (
	"context"
	"fmt"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/bench/internal/workload"
	"github.com/livedb-go/livedb/v"
)

const lvTable = "agentSessions"

// lvSchema is the workload's schema in livedb: every field validated,
// the three indexes of the workload.
func lvSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		lvTable: livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.String(),
			"status":     v.String(),
			"agentType":  v.String(),
			"startedAt":  v.Int64(),
			"input":      v.String(),
			"output":     v.String(),
		})).Index("by_workflow", "workflowId").
			Index("by_status", "status").
			Index("by_workflow_and_status", "workflowId", "status"),
	})
}

// lvStore runs the workload on livedb through the map API (livedb.Doc),
// or through the typed API (Table[T]) when typed is set: its reads (W3,
// W4, W5 and W8's subscriptions) and its writes (W1, W2, W6 and W8's
// commits).
type lvStore struct {
	db    *livedb.DB
	ctx   context.Context
	typed bool
}

func openLivedbBolt(path string, noSync bool) (*lvStore, error) {
	db, err := livedb.Open(path, lvSchema(), &livedb.Options{NoSync: noSync})
	if err != nil {
		return nil, err
	}
	return &lvStore{db: db, ctx: context.Background(), typed: LivedbAPI == "typed"}, nil
}

// openLivedbMemory opens livedb in memory; typed selects the read API.
func openLivedbMemory(typed bool) (*lvStore, error) {
	db, err := livedb.OpenMemory(lvSchema())
	if err != nil {
		return nil, err
	}
	return &lvStore{db: db, ctx: context.Background(), typed: typed}, nil
}

func lvDoc(s workload.Session) livedb.Doc {
	return livedb.Doc{
		"workflowId": s.WorkflowID,
		"status":     s.Status,
		"agentType":  s.AgentType,
		"startedAt":  s.StartedAt,
		"input":      s.Input,
		"output":     s.Output,
	}
}

func (s *lvStore) InsertBatch(docs []workload.Session) ([]string, error) {
	var ids []string
	err := s.db.Mutation(s.ctx, func(m *livedb.MutationCtx) error {
		ids = ids[:0]
		for _, d := range docs {
			id, err := s.insert(m.DB, d)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

func (s *lvStore) Insert(doc workload.Session) (string, error) {
	var id string
	err := s.db.Mutation(s.ctx, func(m *livedb.MutationCtx) (err error) {
		id, err = s.insert(m.DB, doc)
		return err
	})
	return id, err
}

// insert writes one session with the store's API: livedb.Doc, or Table[T]
// when typed.
func (s *lvStore) insert(w *livedb.Writer, d workload.Session) (string, error) {
	if s.typed {
		ref, err := lvSessions.Insert(w, lvTypedSession(d))
		return string(ref), err
	}
	id, err := w.Insert(lvTable, lvDoc(d))
	return string(id), err
}

func (s *lvStore) Get(id string) (string, error) {
	if s.typed {
		return s.typedGet(id)
	}
	var wf string
	err := s.db.Query(s.ctx, func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Get(livedb.ID(id))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("livedb: %s not found", id)
		}
		wf, _ = d["workflowId"].(string)
		return nil
	})
	return wf, err
}

func lvRunning(q *livedb.QueryCtx, wf string) ([]livedb.Doc, error) {
	return q.DB.Query(lvTable).WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
		return r.Eq("workflowId", wf).Eq("status", workload.StatusRunning)
	}).Collect()
}

func (s *lvStore) Running(wf string) (int, error) {
	var n int
	err := s.db.Query(s.ctx, func(q *livedb.QueryCtx) (err error) {
		n, err = s.runningN(q, wf)
		return err
	})
	return n, err
}

// runningN counts the running sessions of wf with the store's read API
// (W4, and W8's subscriptions).
func (s *lvStore) runningN(q *livedb.QueryCtx, wf string) (int, error) {
	if s.typed {
		xs, err := lvTypedRunning(q, wf)
		return len(xs), err
	}
	docs, err := lvRunning(q, wf)
	return len(docs), err
}

func (s *lvStore) page(rng func(livedb.IndexRange) livedb.IndexRange, after workload.Cursor, n int) (int, workload.Cursor, error) {
	if s.typed {
		return s.typedPage(rng, after, n)
	}
	cur, _ := after.(string)
	var res livedb.PaginationResult[livedb.Doc]
	err := s.db.Query(s.ctx, func(q *livedb.QueryCtx) (err error) {
		res, err = q.DB.Query(lvTable).WithIndex("by_workflow", rng).Paginate(livedb.PaginationOptions{NumItems: n, Cursor: cur})
		return err
	})
	return len(res.Page), res.ContinueCursor, err
}

func (s *lvStore) PageWorkflow(wf string, after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page(func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("workflowId", wf) }, after, n)
}

func (s *lvStore) PageAll(after workload.Cursor, n int) (int, workload.Cursor, error) {
	return s.page(nil, after, n)
}

func (s *lvStore) set(id, field, val string) error {
	if s.typed {
		return s.typedSet(id, field, val)
	}
	return s.db.Mutation(s.ctx, func(m *livedb.MutationCtx) error {
		if _, ok, err := m.DB.Get(livedb.ID(id)); err != nil || !ok {
			return fmt.Errorf("livedb: get %s: found %v: %v", id, ok, err)
		}
		return m.DB.Patch(livedb.ID(id), livedb.Doc{field: val})
	})
}

func (s *lvStore) SetStatus(id, status string) error { return s.set(id, "status", status) }

func (s *lvStore) SetOutput(id, output string) error { return s.set(id, "output", output) }

func (s *lvStore) Close() error { return s.db.Close() }

// Watch subscribes with livedb.Subscribe. Without onResult no goroutine is
// started: livedb re-runs the subscription on its own goroutine and keeps
// the newest result in the channel.
func (s *lvStore) Watch(wf string, onResult func(n int)) (func(), error) {
	sub, err := livedb.Subscribe(s.ctx, s.db, func(q *livedb.QueryCtx) (int, error) {
		return s.runningN(q, wf)
	})
	if err != nil {
		return nil, err
	}
	if onResult != nil {
		go func() {
			for u := range sub.Updates() {
				if u.Err == nil {
					onResult(u.Value)
				}
			}
		}()
	}
	return sub.Close, nil
}

// Reruns is the DB's count of subscription re-runs: every subscription on
// it is one of Watch's.
func (s *lvStore) Reruns() int64 { return int64(s.db.Stats().Reruns) }
