package model_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
)

func TestSearchOutputs(t *testing.T) {
	db := newDB(t)
	wf1 := create(t, db, "a", 0)
	wf2 := create(t, db, "b", 0)
	s1, _ := work(t, db, model.Planner, "Plan: fix the login bug, then deploy", nil)
	s2, _ := work(t, db, model.Planner, "Plan: write the login page", nil)
	require.Equal(t, wf1, s1.WorkflowID)
	require.Equal(t, wf2, s2.WorkflowID)
	search := func(args model.SearchArgs) []livedb.Ref[model.AgentSession] {
		got := query(t, db, func(q *livedb.QueryCtx) ([]model.AgentSession, error) { return model.SearchOutputs(q, args) })
		var ids []livedb.Ref[model.AgentSession]
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		return ids
	}
	assert.Equal(t, []livedb.Ref[model.AgentSession]{s1.ID}, search(model.SearchArgs{Text: "BUG"}))
	assert.ElementsMatch(t, []livedb.Ref[model.AgentSession]{s1.ID, s2.ID}, search(model.SearchArgs{Text: "log"}), "the last word is a prefix")
	assert.Equal(t, []livedb.Ref[model.AgentSession]{s2.ID}, search(model.SearchArgs{Text: "login", WorkflowID: &wf2}))
	done := model.SessionCompleted
	assert.Len(t, search(model.SearchArgs{Text: "login", Status: &done}), 2)
	assert.Empty(t, search(model.SearchArgs{Text: "nothing"}))
}
