package model

import (
	"fmt"

	"github.com/livedb-go/livedb"
)

// Caller returns the TokenIdentifier of the identity the query runs for,
// or ErrUnauthenticated when there is none.
func Caller(q *livedb.QueryCtx) (string, error) {
	id := q.Auth()
	if id == nil || id.TokenIdentifier == "" {
		return "", ErrUnauthenticated
	}
	return id.TokenIdentifier, nil
}

// Authorize returns the workflow when the caller owns it. It fails with
// ErrUnauthenticated without an identity, ErrNotFound when the workflow
// does not exist, and ErrForbidden when someone else owns it. Every public
// function that names a workflow calls it first; in a mutation, pass
// m.Query().
func Authorize(q *livedb.QueryCtx, args WorkflowArgs) (Workflow, error) {
	caller, err := Caller(q)
	if err != nil {
		return Workflow{}, err
	}
	wf, err := getWorkflow(q.DB, args.WorkflowID)
	if err != nil {
		return Workflow{}, err
	}
	if wf.Owner != caller {
		return Workflow{}, fmt.Errorf("%w: workflow %s", ErrForbidden, wf.ID)
	}
	return wf, nil
}
