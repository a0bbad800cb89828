package stores

import (
	"fmt"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/bench/internal/workload"
)

// LivedbAPI is the read API of the livedb-bbolt and livedb-memory stores
// (and of [OpenLivedb]): "map" (livedb.Doc, the default) or "typed"
// (Table[T]: W3, W4, W5 and W8 read documents into a struct). Writes use
// the map API either way. The livedb-memory-typed store reads through
// Table[T] whatever LivedbAPI says.
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
