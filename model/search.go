package model

import (
	"github.com/livedb-go/livedb"
)

// SearchArgs are the arguments of SearchOutputs.
type SearchArgs struct {
	// Text is what to look for in the sessions' outputs: words, the last
	// matched as a prefix.
	Text string `json:"text"`
	// WorkflowID, when set, keeps the sessions of one workflow.
	WorkflowID *livedb.Ref[Workflow] `json:"workflowId,omitempty"`
	// Status, when set, keeps the sessions in that status.
	Status *SessionStatus `json:"status,omitempty"`
	// Limit is how many sessions to return, 10 when 0.
	Limit int `json:"limit,omitempty"`
}

// SearchOutputs returns the sessions whose output best matches args.Text,
// most relevant first, through the search_output index: which transcripts
// mention this. Subscribed to, it re-runs when a session's output gains or
// loses one of the words.
func SearchOutputs(q *livedb.QueryCtx, args SearchArgs) ([]AgentSession, error) {
	limit := args.Limit
	if limit == 0 {
		limit = 10
	}
	return Sessions.Query(q.DB).WithSearchIndex("search_output", func(s livedb.SearchFilter) livedb.SearchFilter {
		s = s.Search("output", args.Text)
		if args.WorkflowID != nil {
			s = s.Eq("workflowId", *args.WorkflowID)
		}
		if args.Status != nil {
			s = s.Eq("status", string(*args.Status))
		}
		return s
	}).Take(limit)
}
