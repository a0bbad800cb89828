package stores

import (
	"fmt"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/bench/internal/workload"
)

// LivedbAPI is the API of the livedb-bbolt and livedb-memory stores (and
// of [OpenLivedb]): "map" (livedb.Doc, the default) or "typed" (Table[T]:
// documents written from a struct, and read into one). The
// livedb-memory-typed store uses Table[T] whatever LivedbAPI says.
var LivedbAPI = "map"

// lvSession is a document of the workload's table as a struct, for the
// typed API.
type lvSession struct {
	ID         livedb.Ref[lvSession] `json:"_id"`
	WorkflowID string                `json:"workflowId"`
	Status     string                `json:"status"`
	AgentType  string                `json:"agentType"`
	StartedAt  int64                 `json:"startedAt"`
	Input      string                `json:"input"`
	Output     string                `json:"output"`
}

var lvSessions = livedb.NewTable[lvSession](lvTable)

func (s *lvStore) typedGet(id string) (string, error) {
	var wf string
	err := s.db.Query(s.ctx, func(q *livedb.QueryCtx) error {
		d, ok, err := lvSessions.Get(q.DB, livedb.Ref[lvSession](id))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("livedb: %s not found", id)
		}
		wf = d.WorkflowID
		return nil
	})
	return wf, err
}

func lvTypedRunning(q *livedb.QueryCtx, wf string) ([]lvSession, error) {
	return lvSessions.Query(q.DB).WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
		return r.Eq("workflowId", wf).Eq("status", workload.StatusRunning)
	}).Collect()
}

func (s *lvStore) typedPage(rng func(livedb.IndexRange) livedb.IndexRange, after workload.Cursor, n int) (int, workload.Cursor, error) {
	cur, _ := after.(string)
	var res livedb.PaginationResult[lvSession]
	err := s.db.Query(s.ctx, func(q *livedb.QueryCtx) (err error) {
		res, err = lvSessions.Query(q.DB).WithIndex("by_workflow", rng).Paginate(livedb.PaginationOptions{NumItems: n, Cursor: cur})
		return err
	})
	return len(res.Page), res.ContinueCursor, err
}

// lvTypedSession is session d as a struct to write (its ID is assigned by
// the insert).
func lvTypedSession(d workload.Session) lvSession {
	return lvSession{
		WorkflowID: d.WorkflowID, Status: d.Status, AgentType: d.AgentType,
		StartedAt: d.StartedAt, Input: d.Input, Output: d.Output,
	}
}

// typedSet is set through Table[T]: the read-modify-write of W6 and W8's
// commits, the session read as a struct and patched.
func (s *lvStore) typedSet(id, field, val string) error {
	ref := livedb.Ref[lvSession](id)
	return s.db.Mutation(s.ctx, func(m *livedb.MutationCtx) error {
		if _, ok, err := lvSessions.Get(m.DB, ref); err != nil || !ok {
			return fmt.Errorf("livedb: get %s: found %v: %v", id, ok, err)
		}
		return lvSessions.Patch(m.DB, ref, livedb.Doc{field: val})
	})
}
