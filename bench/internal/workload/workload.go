// Package workload is the benchmark workload of issue 7 (W1–W8): agent
// sessions of about 430 bytes, three secondary indexes, 100 sessions per
// workflow of which 10 are running, and the operations every store under
// test implements through [Store].
package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Statuses of a session. Sessions are "running" or "completed" when loaded;
// W6 moves them between "completed" and "failed".
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// SessionsPerWorkflow and RunningPerWorkflow give the shape of the data.
const (
	SessionsPerWorkflow = 100
	RunningPerWorkflow  = 10
	// PageSize is the page size of W5.
	PageSize = 20
)

// Session is one agent session: the document of every workload. ID is set
// by the store (it is kept inside the value only by stores that need it
// there, such as buntdb for its pagination pivot).
type Session struct {
	ID         string `json:"id,omitempty"`
	WorkflowID string `json:"workflowId"`
	Status     string `json:"status"`
	AgentType  string `json:"agentType"`
	StartedAt  int64  `json:"startedAt"`
	Input      string `json:"input"`
	Output     string `json:"output"`
}

// Dataset is the generated data: N sessions over N/100 workflows.
type Dataset struct {
	Workflows []string
	Sessions  []Session
}

// Workflow returns the workflow index of session i.
func (d *Dataset) Workflow(i int) int { return i % len(d.Workflows) }

// RunningIndex returns the index of the r-th running session (r < 10) of
// workflow w, and CompletedIndex the c-th completed one (c < 90).
func (d *Dataset) RunningIndex(w, r int) int { return w + r*10*len(d.Workflows) }

// CompletedIndex returns the index of the c-th completed session of
// workflow w.
func (d *Dataset) CompletedIndex(w, c int) int {
	k := c + c/9 + 1 // skip every tenth, which is running
	return w + k*len(d.Workflows)
}

var agentTypes = []string{"planner", "coder", "reviewer"}

var words = strings.Fields(`the agent reads the task plans a change edits files runs tests
reviews output retries on failure reports status to workflow orchestrator with tools
context window tokens summary diff patch build lint deploy verify handoff queue`)

// Generate makes n sessions (n is rounded up to a multiple of 100) with a
// fixed seed: session i belongs to workflow i mod W (W = n/100), so the
// sessions of one workflow are spread over the whole load, and the k-th
// session of a workflow is running when k mod 10 == 0.
func Generate(n int) *Dataset {
	nw := max(1, (n+SessionsPerWorkflow-1)/SessionsPerWorkflow)
	n = nw * SessionsPerWorkflow
	r := rand.New(rand.NewPCG(7, 430))
	d := &Dataset{Workflows: workflowIDs(r, nw), Sessions: make([]Session, n)}
	text := func(size int) string {
		var sb strings.Builder
		for sb.Len() < size {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[r.IntN(len(words))])
		}
		return sb.String()[:size]
	}
	base := int64(1_760_000_000_000)
	for i := range d.Sessions {
		status := StatusCompleted
		if (i/nw)%10 == 0 {
			status = StatusRunning
		}
		d.Sessions[i] = Session{
			WorkflowID: d.Workflows[i%nw],
			Status:     status,
			AgentType:  agentTypes[r.IntN(len(agentTypes))],
			StartedAt:  base + int64(i)*37,
			Input:      text(150 + r.IntN(40)),
			Output:     text(100 + r.IntN(40)),
		}
	}
	return d
}

// WorkflowIDs returns the workflow IDs of Generate(n) without generating
// the sessions.
func WorkflowIDs(n int) []string {
	nw := max(1, (n+SessionsPerWorkflow-1)/SessionsPerWorkflow)
	return workflowIDs(rand.New(rand.NewPCG(7, 430)), nw)
}

func workflowIDs(r *rand.Rand, nw int) []string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	out := make([]string, nw)
	for w := range out {
		b := make([]byte, 32)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		out[w] = string(b)
	}
	return out
}

// Cursor is a store's pagination position; nil is the start.
type Cursor any

// Store is one store under test. Every method is one transaction; writes
// are durable when they return (fsync on commit) for the durable stores.
type Store interface {
	// InsertBatch inserts docs in one transaction and returns their IDs in
	// order.
	InsertBatch(docs []Session) ([]string, error)
	// Insert inserts one document in its own transaction.
	Insert(doc Session) (string, error)
	// Get reads a document by ID and returns its workflowId.
	Get(id string) (string, error)
	// Running returns how many running sessions workflow wf has, reading
	// them (decoded) through the compound index (workflowId, status).
	Running(wf string) (int, error)
	// PageWorkflow reads the page of n sessions of wf after cursor.
	PageWorkflow(wf string, after Cursor, n int) (int, Cursor, error)
	// PageAll reads the page of n sessions after cursor in the whole
	// by_workflow index (a range of every document).
	PageAll(after Cursor, n int) (int, Cursor, error)
	// SetStatus reads a document and writes it back with a new status, in
	// one transaction, moving its index entries.
	SetStatus(id, status string) error
	// SetOutput reads a document and writes it back with a new output: a
	// write that changes no index entry but by_id.
	SetOutput(id, output string) error
	// Close closes the store.
	Close() error
}

// BatchInserter is implemented by a store that also offers a group-commit
// insert (raw bbolt's DB.Batch), reported beside the one-Update insert.
type BatchInserter interface {
	InsertGrouped(doc Session) (string, error)
}

// Watchable is implemented by stores that can notify a reader of changes
// (W8).
type Watchable interface {
	// Watch subscribes to the running sessions of wf. When onResult is not
	// nil it is called, from the subscriber's goroutine, with each result
	// the subscriber observes (the number of running sessions).
	Watch(wf string, onResult func(n int)) (stop func(), err error)
	// Reruns returns how many times the subscriptions' queries were re-run
	// after their first run, in total.
	Reruns() int64
}

func checkCount(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: got %d rows, want %d", what, got, want)
	}
	return nil
}
