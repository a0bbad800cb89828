package livedb_test

// The code snippets of README.md, compiled and run. Each snippet appears
// here verbatim (up to indentation) between "README:" comments, and
// TestReadme_SnippetsAreTested fails when a ```go block of README.md is
// missing here, so the README cannot drift from code that compiles.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/pgtest"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/remote"
	"github.com/livedb-go/livedb/server"
	"github.com/livedb-go/livedb/v"
)

func TestReadme_Tour(t *testing.T) {
	t.Chdir(t.TempDir()) // the README opens state.db in the working directory
	// The deadline bounds the tour's waits for subscription updates: a lost
	// update ends the subscription (and the tour, with an error naming the
	// wait) instead of hanging until go test's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	require.NoError(t, readmeTour(t, ctx))
}

// readmeTour runs the README's tour in order; t checks what the snippets
// leave behind.
func readmeTour(t *testing.T, ctx context.Context) error {
	// README: schema
	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("in_progress"), v.Literal("completed")),
		})).Index("by_status", "status"),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"status":     v.String(),
			"output":     v.Optional(v.String()),
			"startedAt":  v.Optional(v.Float64()), // milliseconds since 1970, as Date.now()
		})).Index("by_workflow_and_status", "workflowId", "status"),
	})
	db, err := livedb.Open("state.db", schema, nil) // livedb.OpenMemory(schema) for tests
	if err != nil {
		return err
	}
	defer db.Close()

	// README: mutation
	wf, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.ID, error) {
		wf, err := m.DB.Insert("workflows", livedb.Doc{"task": "ship it", "status": "pending"})
		if err != nil {
			return "", err
		}
		_, err = m.DB.Insert("agentSessions", livedb.Doc{
			"workflowId": wf, "agentType": "planner", "status": "running",
		})
		if err != nil {
			return "", err
		}
		return wf, m.DB.Patch(wf, livedb.Doc{"status": "in_progress"})
	})
	// (end)
	if err != nil {
		return err
	}

	// README: query
	running, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) ([]livedb.Doc, error) {
		return q.DB.Query("agentSessions").
			WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("workflowId", wf).Eq("status", "running")
			}).
			Order(livedb.Desc).
			Take(10)
	})
	// (end)
	if err != nil {
		return err
	}
	assert.Len(t, running, 1)

	{
		// README: paginate
		opts := livedb.PaginationOptions{NumItems: 20}
		for {
			page, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (livedb.PaginationResult[livedb.Doc], error) {
				return q.DB.Query("agentSessions").Paginate(opts)
			})
			if err != nil {
				return err
			}
			for _, s := range page.Page {
				fmt.Println(s["agentType"], s["status"])
			}
			if page.IsDone {
				break
			}
			opts.Cursor = page.ContinueCursor
		}
		// (end)
	}

	// The workflow completes while the subscription below watches.
	done := make(chan error, 1)
	go func() {
		done <- db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(wf, livedb.Doc{"status": "completed"})
		})
	}()
	{
		// README: subscribe
		sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (int, error) {
			docs, err := q.DB.Query("workflows").
				WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", "in_progress") }).
				Collect()
			return len(docs), err
		})
		if err != nil {
			return err
		}
		defer sub.Close()
		for u := range sub.Updates() { // the result now, then after every commit that changes it
			if u.Err != nil {
				return u.Err
			}
			fmt.Println("workflows in progress:", u.Value)
			if u.Value == 0 {
				break
			}
		}
		// (end)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("README subscribe: no update with 0 workflows in progress before the deadline: %w", err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("README subscribe: the mutation completing the workflow did not return: %w", ctx.Err())
	}

	{
		// README: typed
		type Workflow struct {
			ID     livedb.Ref[Workflow] `json:"_id"`
			Task   string               `json:"task"`
			Status string               `json:"status"`
		}
		type AgentSession struct {
			ID         livedb.Ref[AgentSession] `json:"_id"`
			WorkflowID livedb.Ref[Workflow]     `json:"workflowId"` // only a workflow's ID fits
			AgentType  string                   `json:"agentType"`
			Status     string                   `json:"status"`
			Output     *string                  `json:"output"`    // v.Optional: nil is absent
			StartedAt  *time.Time               `json:"startedAt"` // Float64 milliseconds in the document
		}
		workflows := livedb.NewTable[Workflow]("workflows")
		sessions := livedb.NewTable[AgentSession]("agentSessions")

		w, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.Ref[Workflow], error) {
			w, err := workflows.Insert(m.DB, Workflow{Task: "typed", Status: "pending"})
			if err != nil {
				return "", err
			}
			now := time.Now()
			_, err = sessions.Insert(m.DB, AgentSession{WorkflowID: w, AgentType: "coder", Status: "running", StartedAt: &now})
			return w, err
		})
		if err != nil {
			return err
		}

		// Reads take the DB of a query or of a mutation alike: a livedb.DBReader.
		codersOf := func(db livedb.DBReader) ([]AgentSession, error) {
			return sessions.Query(db).
				WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
					return r.Eq("workflowId", w).Eq("status", "running")
				}).
				Collect()
		}
		coding, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) ([]AgentSession, error) {
			return codersOf(q.DB)
		})
		if err != nil {
			return err
		}
		for _, s := range coding {
			fmt.Println(s.AgentType, s.WorkflowID == w, s.Output == nil, s.StartedAt.Location()) // coder true true UTC
		}
		err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			coding, err := codersOf(m.DB)
			if err != nil {
				return err
			}
			for _, s := range coding {
				if err := sessions.Patch(m.DB, s.ID, livedb.Doc{"status": "reviewed"}); err != nil {
					return err
				}
			}
			return nil
		})
		// (end)
		if err != nil {
			return err
		}
	}

	{
		// README: functions
		type createArgs struct {
			Task string `json:"task"`
		}
		createWorkflow := livedb.NewMutation(livedb.FunctionDef[createArgs, livedb.ID]{
			Name:    "workflows:create",
			Args:    v.Object(v.Fields{"task": v.String()}),
			Returns: v.ID("workflows"),
		}, func(m *livedb.MutationCtx, args createArgs) (livedb.ID, error) {
			if m.Auth() == nil {
				return "", errors.New("workflows:create: not authenticated")
			}
			return m.DB.Insert("workflows", livedb.Doc{"task": args.Task, "status": "pending"})
		})

		alice := livedb.WithIdentity(ctx, &livedb.Identity{
			TokenIdentifier: "https://auth.example|alice", Issuer: "https://auth.example", Subject: "alice",
		})
		id, err := createWorkflow.Call(alice, db, createArgs{Task: "write the README"})
		if err != nil {
			return err
		}
		fmt.Println("created", id)

		// A registry serves functions by name to untrusted callers: arguments
		// arrive as documents and are validated; internal functions are refused.
		reg, err := livedb.NewRegistry(createWorkflow)
		if err != nil {
			return err
		}
		_, err = reg.CallPublic(alice, db, "workflows:create", livedb.Doc{"task": 42.0})
		var argErr *livedb.ArgumentError
		fmt.Println(errors.As(err, &argErr)) // true: Value does not match validator. Path: .task
		// (end)
		assert.True(t, errors.As(err, &argErr))
	}

	{
		// README: changes
		feed := db.Changes(0, "agentSessions") // 0: from the oldest change kept
		for {
			c, ok, err := feed.TryNext()
			if err != nil {
				return err
			}
			if !ok {
				break // caught up; feed.Next(ctx) would wait for the next commit
			}
			fmt.Println(c.Timestamp, c.Op, c.Table, c.ID)
		}
		// (end)
	}
	return nil
}

func TestReadme_Model(t *testing.T) {
	ctx := context.Background()
	// README: livedbtest
	db := livedbtest.New(t, model.Schema()) // in memory; Check and Close run when the test ends
	// (end)
	require.NoError(t, readmeModel(ctx, db))
	ps, err := model.Internal.ListProgress.Call(ctx, db, model.OwnerArgs{Owner: "https://auth.example|alice"})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, model.Coder, ps[0].CurrentStep, "the planner's work was completed")
}

func readmeModel(ctx context.Context, db *livedb.DB) error {
	// README: model
	alice := livedb.WithIdentity(ctx, &livedb.Identity{TokenIdentifier: "https://auth.example|alice"})
	wf, err := model.API.CreateWorkflow.Call(alice, db, model.NewWorkflowArgs{Task: "add a cache"})
	if err != nil {
		return err
	}

	// An agent's loop: claim a pending session of its type, work, complete it.
	s, err := model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: model.Planner, AgentID: "planner-1"})
	if err != nil || s == nil {
		return err // s == nil: nothing to do
	}
	_, err = model.Internal.CompleteSession.Call(ctx, db, model.CompleteArgs{SessionID: s.ID, Output: "plan: ..."})
	if err != nil {
		return err
	}

	p, err := model.API.WorkflowProgress.Call(alice, db, model.WorkflowArgs{WorkflowID: wf})
	if err != nil {
		return err
	}
	fmt.Println(p.Status, p.CurrentStep) // in_progress coder
	// (end)
	return nil
}

// TestReadme_SnippetsAreTested checks that every ```go block of README.md
// appears in this file or another readme*_test.go, so that every snippet
// the README shows compiles and runs.
func TestReadme_SnippetsAreTested(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	files, err := filepath.Glob("readme*_test.go")
	require.NoError(t, err)
	var self []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		self = append(append(self, b...), '\n')
	}
	blocks := readmeGoBlocks(string(readme))
	require.GreaterOrEqual(t, len(blocks), 8, "the README shows the tour")
	source := "\n" + strings.Join(readmeNormalize(string(self)), "\n") + "\n"
	for _, b := range blocks {
		want := "\n" + strings.Join(readmeNormalize(b), "\n") + "\n"
		assert.Contains(t, source, want, "README snippet not tested in readme_test.go:\n%s", b)
	}

	// The test command of the README is exactly the one CI runs.
	ci, err := os.ReadFile(".ci/run")
	require.NoError(t, err)
	assert.Contains(t, string(ci), "\ngo test -race ./...\n")
	assert.Contains(t, string(readme), "go test -race ./...")
	assert.Contains(t, string(readme), "go run ./examples/orchestrator")
}

// readmeGoBlocks returns the contents of the ```go fences of a Markdown
// text.
func readmeGoBlocks(md string) []string {
	var blocks []string
	var cur []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// readmeNormalize returns the non-blank lines of s without their
// indentation.
func readmeNormalize(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func TestReadmeGoBlocks(t *testing.T) {
	md := "text\n```go\nx := 1\n\n\ty := 2\n```\n```sh\nls\n```\n```go\nz\n```\n"
	assert.Equal(t, []string{"x := 1\n\n\ty := 2", "z"}, readmeGoBlocks(md))
	assert.Equal(t, []string{"x := 1", "y := 2"}, readmeNormalize("x := 1\n\n\ty := 2"))
}

func TestReadme_Server(t *testing.T) {
	db := livedbtest.New(t, livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{"text": v.String()})),
	}))
	type textArgs struct {
		Text string `json:"text"`
	}
	type pageArgs struct {
		PaginationOpts livedb.PaginationOptions `json:"paginationOpts"`
	}
	addTask := livedb.NewMutation(livedb.FunctionDef[textArgs, livedb.ID]{
		Name: "tasks:add", Args: v.Object(v.Fields{"text": v.String()}), Returns: v.ID("tasks"),
	}, func(m *livedb.MutationCtx, a textArgs) (livedb.ID, error) {
		return m.DB.Insert("tasks", livedb.Doc{"text": a.Text})
	})
	listTasks := livedb.NewQuery(livedb.FunctionDef[struct{}, []livedb.Doc]{Name: "tasks:list"},
		func(q *livedb.QueryCtx, _ struct{}) ([]livedb.Doc, error) { return q.DB.Query("tasks").Collect() })
	pageTasks := livedb.NewQuery(livedb.FunctionDef[pageArgs, livedb.PaginationResult[livedb.Doc]]{
		Name: "tasks:page", Args: v.Object(v.Fields{"paginationOpts": v.PaginationOpts()}),
	}, func(q *livedb.QueryCtx, a pageArgs) (livedb.PaginationResult[livedb.Doc], error) {
		return q.DB.Query("tasks").Paginate(a.PaginationOpts)
	})
	verifyToken := func(ctx context.Context, token string) (*livedb.Identity, error) {
		return nil, errors.New("this test sends no tokens")
	}
	run := func() error {
		// README: server
		reg, err := livedb.NewRegistry(addTask, listTasks, pageTasks) // internal ones too: they are never served
		if err != nil {
			return err
		}
		srv, err := server.New(db, reg, server.Options{
			Authenticator:  verifyToken,                   // the client's JWT -> *livedb.Identity; nil: anonymous only
			AdminKey:       os.Getenv("LIVEDB_ADMIN_KEY"), // dashboard and raw tables; "" turns them off
			AllowedOrigins: []string{"localhost:5173"},    // the pages of your web app (its dev server here)
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		mux := http.NewServeMux()
		mux.Handle("/", srv) // or mux.Handle("/convex/", http.StripPrefix("/convex", srv))
		// (end)
		hs := httptest.NewServer(mux)
		defer hs.Close()
		resp, err := http.Post(hs.URL+"/api/mutation", "application/json", strings.NewReader(`{"path":"tasks:add","args":[{"text":"served"}]}`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("tasks:add over HTTP: status %d", resp.StatusCode)
		}
		return nil
	}
	require.NoError(t, run())
	docs, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) ([]livedb.Doc, error) { return q.DB.Query("tasks").Collect() })
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, "served", docs[0]["text"])
}

// TestReadme_Shared runs the README's snippet of a database shared on
// PostgreSQL: two processes (two DBs) of one database, one of them with a
// copy in a file.
func TestReadme_Shared(t *testing.T) {
	dsn := pgtest.Require(t).NewDatabase(t)
	t.Chdir(t.TempDir()) // the README keeps copy.db in the working directory
	ctx := boundedCtx(t)
	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.String(),
		})).Index("by_status", "status"),
	})
	other, err := livedb.Open(dsn, schema, nil)
	require.NoError(t, err)
	defer livedbtest.MustCheckClose(t, other)
	var committed uint64
	err = func() error {
		// README: shared
		// In every process, on any machine: the same schema, the same API.
		db, err := livedb.Open(dsn, schema, &livedb.Options{LocalCopy: "copy.db"})
		if err != nil {
			return err
		}
		defer db.Close()
		ts, err := db.MutationTS(ctx, func(tx *livedb.MutationCtx) error {
			_, err := tx.DB.Insert("workflows", livedb.Doc{"task": "ship it", "status": "pending"})
			return err
		})
		if err != nil {
			return err
		}
		// Another process, handed ts (in a message, a queue, an HTTP reply), reads
		// its own write there:
		if err := other.CatchUp(ctx, ts); err != nil {
			return err
		}
		committed = ts
		return nil
	}()
	require.NoError(t, err)
	var docs []livedb.Doc
	require.NoError(t, other.Query(ctx, func(q *livedb.QueryCtx) (err error) {
		docs, err = q.DB.Query("workflows").Collect()
		return err
	}))
	require.Len(t, docs, 1, "the other process does not see the write after CatchUp(%d)", committed)
	assert.Equal(t, "ship it", docs[0]["task"])
	_, err = os.Stat("copy.db")
	require.NoError(t, err, "LocalCopy made no file")
}

func TestReadme_Remote(t *testing.T) {
	type textArgs struct {
		Text string `json:"text"`
	}
	type pageArgs struct {
		PaginationOpts livedb.PaginationOptions `json:"paginationOpts"`
	}
	addTask := livedb.NewMutation(livedb.FunctionDef[textArgs, livedb.ID]{
		Name: "tasks:add", Args: v.Object(v.Fields{"text": v.String()}), Returns: v.ID("tasks"),
	}, func(m *livedb.MutationCtx, a textArgs) (livedb.ID, error) {
		return m.DB.Insert("tasks", livedb.Doc{"text": a.Text})
	})
	listTasks := livedb.NewQuery(livedb.FunctionDef[struct{}, []livedb.Doc]{Name: "tasks:list"},
		func(q *livedb.QueryCtx, _ struct{}) ([]livedb.Doc, error) { return q.DB.Query("tasks").Collect() })
	pageTasks := livedb.NewQuery(livedb.FunctionDef[pageArgs, livedb.PaginationResult[livedb.Doc]]{
		Name: "tasks:page", Args: v.Object(v.Fields{"paginationOpts": v.PaginationOpts()}),
	}, func(q *livedb.QueryCtx, a pageArgs) (livedb.PaginationResult[livedb.Doc], error) {
		return q.DB.Query("tasks").Paginate(a.PaginationOpts)
	})
	reg, err := livedb.NewRegistry(addTask, listTasks, pageTasks)
	require.NoError(t, err)
	run := func(ctx context.Context, db *livedb.DB) ([]livedb.Doc, error) {
		// README: remote
		var b remote.Backend // the same code runs on either
		if url := os.Getenv("LIVEDB_URL"); url != "" {
			c, err := remote.Dial(ctx, url, &remote.Options{AuthToken: os.Getenv("LIVEDB_TOKEN")})
			if err != nil {
				return nil, err
			}
			b = c
		} else {
			b = remote.Local(db, reg) // in-process: the same values and errors
		}
		defer b.Close()
		sub, err := b.Subscribe(ctx, "tasks:list", nil) // its first result is waiting
		if err != nil {
			return nil, err
		}
		defer sub.Close()
		if _, _, err := b.Mutation(ctx, "tasks:add", livedb.Doc{"text": "from Go"}); err != nil {
			return nil, err
		}
		page, err := b.Paginate(ctx, "tasks:page", nil, livedb.PaginationOptions{NumItems: 10})
		if err != nil {
			return nil, err
		}
		for u := range sub.Updates() { // the newest result; u.Err while reconnecting
			if tasks, err := remote.Decode[[]livedb.Doc](u.Value); err == nil && len(tasks) == len(page.Page) {
				return tasks, nil
			}
		}
		// (end)
		return nil, errors.New("the subscription ended")
	}
	for _, where := range []string{"remote", "local"} {
		t.Run(where, func(t *testing.T) {
			db := livedbtest.New(t, livedb.DefineSchema(livedb.Tables{
				"tasks": livedb.DefineTable(v.Object(v.Fields{"text": v.String()})),
			}))
			t.Setenv("LIVEDB_URL", "")
			if where == "remote" {
				srv, err := server.New(db, reg, server.Options{})
				require.NoError(t, err)
				hs := httptest.NewServer(srv)
				defer hs.Close()
				defer srv.Close()
				t.Setenv("LIVEDB_URL", hs.URL)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tasks, err := run(ctx, db)
			require.NoError(t, err)
			require.Len(t, tasks, 1)
			assert.Equal(t, "from Go", tasks[0]["text"])
		})
	}
}
