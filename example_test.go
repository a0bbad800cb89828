package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// Write in a mutation: every write of the function commits atomically, or
// none does.
func ExampleDB_Mutation() {
	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("in_progress"), v.Literal("completed")),
		})),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
		})),
	})
	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	// A workflow and its first session, in one transaction.
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		wf, err := m.DB.Insert("workflows", livedb.Doc{"task": "ship it", "status": "pending"})
		if err != nil {
			return err
		}
		if _, err := m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "planner"}); err != nil {
			return err
		}
		return m.DB.Patch(wf, livedb.Doc{"status": "in_progress"})
	})
	if err != nil {
		log.Fatal(err)
	}

	// A mutation that fails writes nothing: here the second write breaks
	// the schema, so the first is discarded too.
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		if _, err := m.DB.Insert("workflows", livedb.Doc{"task": "another", "status": "pending"}); err != nil {
			return err
		}
		_, err := m.DB.Insert("workflows", livedb.Doc{"task": "bad", "status": "paused"})
		return err
	})
	fmt.Println("schema error:", errors.Is(err, livedb.ErrSchemaEnforcement))

	err = db.Query(ctx, func(q *livedb.QueryCtx) error {
		wfs, err := q.DB.Query("workflows").Collect()
		if err != nil {
			return err
		}
		for _, wf := range wfs {
			fmt.Println(wf["task"], wf["status"])
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// schema error: true
	// ship it in_progress
}

// Query by index: the sessions of one workflow with one status, newest
// first, read from the by_workflow_and_status index range.
func ExampleQuery_WithIndex() {
	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{"task": v.String()})),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"status":     v.Union(v.Literal("pending"), v.Literal("running"), v.Literal("completed")),
		})).Index("by_workflow_and_status", "workflowId", "status"),
	})
	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	var wf livedb.ID
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		var err error
		if wf, err = m.DB.Insert("workflows", livedb.Doc{"task": "ship it"}); err != nil {
			return err
		}
		for _, s := range []livedb.Doc{
			{"agentType": "planner", "status": "completed"},
			{"agentType": "coder", "status": "running"},
			{"agentType": "reviewer", "status": "running"},
			{"agentType": "reviewer", "status": "pending"},
		} {
			s["workflowId"] = wf
			if _, err := m.DB.Insert("agentSessions", s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	err = db.Query(ctx, func(q *livedb.QueryCtx) error {
		running, err := q.DB.Query("agentSessions").
			WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("workflowId", wf).Eq("status", "running")
			}).
			Order(livedb.Desc).
			Collect()
		if err != nil {
			return err
		}
		for _, s := range running {
			fmt.Println(s["agentType"], s["status"])
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// reviewer running
	// coder running
}

// Paginate: read a query page by page, each page continuing from the
// cursor of the previous one.
func ExampleQuery_Paginate() {
	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"events": livedb.DefineTable(v.Object(v.Fields{"seq": v.Float64()})).Index("by_seq", "seq"),
	})
	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		for i := 1; i <= 5; i++ {
			if _, err := m.DB.Insert("events", livedb.Doc{"seq": i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	cursor := ""
	for {
		var page livedb.PaginationResult[livedb.Doc]
		err := db.Query(ctx, func(q *livedb.QueryCtx) error {
			var err error
			page, err = q.DB.Query("events").WithIndex("by_seq", nil).
				Paginate(livedb.PaginationOptions{NumItems: 2, Cursor: cursor})
			return err
		})
		if err != nil {
			log.Fatal(err)
		}
		var seqs []any
		for _, d := range page.Page {
			seqs = append(seqs, d["seq"])
		}
		fmt.Println(seqs, "done:", page.IsDone)
		if page.IsDone {
			break
		}
		cursor = page.ContinueCursor
	}
	// Output:
	// [1 2] done: false
	// [3 4] done: false
	// [5] done: true
}

// Subscribe and observe an update: the query runs again after a commit
// that touches what it read, and the subscription delivers the new result.
func ExampleSubscribe() {
	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"agentType": v.String(),
			"status":    v.String(),
		})).Index("by_status", "status"),
	})
	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// A subscription ends when its context does: the deadline bounds the
	// wait for an update below.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// How many sessions are running?
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (int, error) {
		running, err := q.DB.Query("agentSessions").
			WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", "running") }).
			Collect()
		return len(running), err
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	first := <-sub.Updates()
	fmt.Println("running:", first.Value)

	ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("agentSessions", livedb.Doc{"agentType": "coder", "status": "running"})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	// Updates are coalesced: read until one reflects the mutation.
	for u := range sub.Updates() {
		if u.Err != nil {
			log.Fatal(u.Err)
		}
		if u.Timestamp >= ts {
			fmt.Println("running:", u.Value)
			break
		}
	}
	// Output:
	// running: 0
	// running: 1
}

// Typed access: read and write Go structs, with typed references between
// tables (Convex's Doc<"t"> and Id<"t">). The schema still validates every
// write.
func ExampleNewTable() {
	// A workflows document as a Go struct: json tags name the fields, and
	// the system fields are tagged _id and _creationTime.
	type Workflow struct {
		ID     livedb.Ref[Workflow] `json:"_id"`
		Task   string               `json:"task"`
		Status string               `json:"status"`
	}
	// An agentSessions document: its WorkflowID holds only a workflow's ID.
	type Session struct {
		ID         livedb.Ref[Session]  `json:"_id"`
		WorkflowID livedb.Ref[Workflow] `json:"workflowId"`
		AgentType  string               `json:"agentType"`
		Output     *string              `json:"output"` // v.Optional: nil is absent
	}

	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("completed")),
		})),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"output":     v.Optional(v.String()),
		})).Index("by_workflow", "workflowId"),
	})
	workflows := livedb.NewTable[Workflow]("workflows")
	sessions := livedb.NewTable[Session]("agentSessions")

	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	var wf livedb.Ref[Workflow]
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		var err error
		if wf, err = workflows.Insert(m.DB, Workflow{Task: "ship it", Status: "pending"}); err != nil {
			return err
		}
		plan := "three steps"
		for _, s := range []Session{
			{WorkflowID: wf, AgentType: "planner", Output: &plan},
			{WorkflowID: wf, AgentType: "coder"},
		} {
			if _, err := sessions.Insert(m.DB, s); err != nil {
				return err
			}
		}
		return workflows.Patch(m.DB, wf, livedb.Doc{"status": "completed"})
	})
	if err != nil {
		log.Fatal(err)
	}

	err = db.Query(ctx, func(q *livedb.QueryCtx) error {
		w, _, err := workflows.Get(q.DB, wf)
		if err != nil {
			return err
		}
		fmt.Println(w.Task, w.Status, w.ID == wf)
		ss, err := sessions.Query(q.DB).
			WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("workflowId", wf) }).
			Collect()
		if err != nil {
			return err
		}
		for _, s := range ss {
			fmt.Println(s.AgentType, s.Output != nil)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// ship it completed true
	// planner true
	// coder false
}

// A validated function: its arguments and result are checked against
// validators, and a caller's mistake is an *ArgumentError with the path of
// the offending value.
func ExampleNewQuery() {
	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{"task": v.String(), "status": v.String()})).
			Index("by_status", "status"),
	})
	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	type countArgs struct {
		Status string `json:"status"`
	}
	countByStatus := livedb.NewQuery(livedb.FunctionDef[countArgs, int]{
		Name:    "workflows:countByStatus",
		Args:    v.Object(v.Fields{"status": v.Union(v.Literal("pending"), v.Literal("completed"))}),
		Returns: v.Float64(),
	}, func(q *livedb.QueryCtx, args countArgs) (int, error) {
		docs, err := q.DB.Query("workflows").
			WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", args.Status) }).
			Collect()
		return len(docs), err
	})

	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		for _, st := range []string{"pending", "pending", "completed"} {
			if _, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": st}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	n, err := countByStatus.Call(ctx, db, countArgs{Status: "pending"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pending:", n)

	_, err = countByStatus.Call(ctx, db, countArgs{Status: "paused"})
	var argErr *livedb.ArgumentError
	var valErr *v.ValidationError
	if errors.As(err, &argErr) && errors.As(err, &valErr) {
		fmt.Printf("%s: bad argument at %s\n", argErr.Function, valErr.Path)
	}
	// Output:
	// pending: 2
	// workflows:countByStatus: bad argument at .status
}
