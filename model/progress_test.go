package model_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
)

func TestSessionCounts_MatchProgress(t *testing.T) {
	db := newDB(t)
	ids := []livedb.Ref[model.Workflow]{create(t, db, "first", 0), create(t, db, "second", 0)}
	work(t, db, model.Planner, "plan", nil)
	claim(t, db, model.Coder, "coder-1")
	for _, id := range ids {
		args := model.WorkflowArgs{WorkflowID: id}
		counts := query(t, db, func(q *livedb.QueryCtx) (map[model.SessionStatus]int64, error) { return model.SessionCounts(q, args) })
		p := query(t, db, func(q *livedb.QueryCtx) (model.Progress, error) { return model.WorkflowProgress(q, args) })
		total := int64(0)
		for _, st := range model.SessionStatuses {
			assert.Equal(t, int64(p.Count(st)), counts[st], "workflow %s status %s", p.Task, st)
			total += counts[st]
		}
		assert.Equal(t, int64(len(p.Sessions)), total, "workflow %s", p.Task)
	}
	first := query(t, db, func(q *livedb.QueryCtx) (map[model.SessionStatus]int64, error) {
		return model.SessionCounts(q, model.WorkflowArgs{WorkflowID: ids[0]})
	})
	assert.Equal(t, map[model.SessionStatus]int64{model.SessionCompleted: 1, model.SessionRunning: 1}, first)
}
