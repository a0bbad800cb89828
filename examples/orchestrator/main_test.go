package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/workpool"
)

// summary is the parsed last line of a run.
type summary struct {
	completed, total, failed, sessions, reworks, itemsRetried, leasesExpired, mutations, retries int
}

var summaryRE = regexp.MustCompile(`(?m)^summary: workflows completed (\d+)/(\d+), failed (\d+); sessions run (\d+); reworks (\d+); items retried (\d+); leases expired (\d+); mutations (\d+); conflicts retried (\d+); time \S+$`)

// mustRun runs the orchestrator with args and returns its output and
// summary.
func mustRun(t *testing.T, args ...string) (string, summary) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	require.NoError(t, err, out.String())
	m := summaryRE.FindStringSubmatch(out.String())
	require.NotNil(t, m, "no summary in:\n%s", out.String())
	n := make([]int, len(m)-1)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return out.String(), summary{n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8]}
}

// state is what a database file holds, by task.
type state map[string]workflowState

type workflowState struct {
	status  model.WorkflowStatus
	steps   string // e.g. "P C R C R"
	reworks int
}

// mustState reads the workflows of the file, checking its consistency and
// that no session is left open in a finished workflow.
func mustState(t *testing.T, path string) state {
	t.Helper()
	db, err := livedb.Open(path, model.Schema(), nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Check(context.Background()))
	ps, err := model.Internal.ListProgress.Call(context.Background(), db, model.OwnerArgs{Owner: owner.TokenIdentifier})
	require.NoError(t, err)
	st := state{}
	for _, p := range ps {
		var steps []string
		for _, s := range p.Sessions {
			steps = append(steps, strings.ToUpper(string(s.AgentType[:1])))
			if p.Status.Finished() {
				assert.NotContains(t, []model.SessionStatus{model.SessionPending, model.SessionRunning}, s.Status, "%s: open session in a finished workflow", p.Task)
			}
			assert.NotEqual(t, model.SessionRunning, s.Status, "%s: a session is left running", p.Task)
		}
		_, dup := st[p.Task]
		require.False(t, dup, "task %q twice", p.Task)
		st[p.Task] = workflowState{status: p.Status, steps: strings.Join(steps, " "), reworks: p.Reworks}
	}
	return st
}

// validSteps matches the session history of a workflow: one planner, then
// coder and reviewer rounds.
var validSteps = regexp.MustCompile(`^P( C( R( C R)*)?)?$`)

func smallArgs(path string, extra ...string) []string {
	return append([]string{"-db", path, "-workflows", "3", "-agents", "2", "-work", "1ms", "-seed", "5", "-rework", "0.5",
		"-lease", "2s", "-sweep", "1s"}, extra...)
}

func TestRun_Completes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchestrator.db")
	out, sum := mustRun(t, smallArgs(path)...)
	assert.Contains(t, out, "created 3 workflows in "+path)
	assert.Equal(t, 3, sum.total)
	assert.Equal(t, 3, sum.completed+sum.failed, "every workflow is finished")
	assert.GreaterOrEqual(t, sum.mutations, sum.sessions*2, "a claim and a completion per session")

	st := mustState(t, path)
	require.Len(t, st, 3)
	sessions, reworks := 0, 0
	for task, w := range st {
		assert.True(t, w.status.Finished(), task)
		assert.Regexp(t, validSteps, w.steps, task)
		sessions += len(strings.Fields(w.steps))
		reworks += w.reworks
		assert.Regexp(t, `#\d `+regexp.QuoteMeta(task[:20])+`.* `+string(w.status)+` `, out, "a progress line shows the final state")
	}
	assert.Equal(t, 1, strings.Count(out, legend+"\n"), "the legend, once, on a line of its own")
	assert.Equal(t, sessions, sum.sessions, "sessions run")
	assert.Equal(t, reworks, sum.reworks)

	// The line of counts (read from the aggregate the sessions' index
	// keeps) accounts for every session, and none is left open.
	m := regexp.MustCompile(`(?m)^sessions by status: (.*)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no line of session counts in:\n%s", out)
	counted := map[string]int{}
	for _, part := range strings.Split(m[1], ", ") {
		st, n, ok := strings.Cut(part, " ")
		require.True(t, ok, "count %q", part)
		counted[st], _ = strconv.Atoi(n)
	}
	assert.Equal(t, sessions, counted["completed"]+counted["failed"]+counted["cancelled"], "finished sessions counted: %v", counted)
	assert.Zero(t, counted["pending"]+counted["running"], "open sessions counted: %v", counted)
}

func TestRun_ResumeDoesNotDuplicate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orchestrator.db")

	out, sum := mustRun(t, smallArgs(path, "-stop-after", "2")...)
	assert.Contains(t, out, "created 3 workflows")
	assert.Contains(t, out, "stopped after 2 sessions")
	assert.Less(t, sum.completed+sum.failed, 3, "the first run leaves work")
	before := mustState(t, path)
	require.Len(t, before, 3)

	// A run died while its agents worked: their sessions are left running
	// and their work items leased; the next run gets them back when the
	// leases end.
	crashWhileWorking(t, path)
	out, sum = mustRun(t, smallArgs(path)...)
	assert.Regexp(t, `[1-3] sessions were left running by a run that died`, out)
	assert.GreaterOrEqual(t, sum.leasesExpired, 1, "the dead agents' leases expired")
	assert.GreaterOrEqual(t, sum.itemsRetried, sum.leasesExpired, "each expired lease's item was tried again")
	assert.Regexp(t, `resuming [1-3] unfinished workflows from `, out)
	assert.NotRegexp(t, `created \d+ workflows`, out)
	after := mustState(t, path)
	require.Len(t, after, 3, "no workflow was created twice")
	for task, w := range after {
		assert.True(t, w.status.Finished(), task)
		assert.Regexp(t, validSteps, w.steps, "%s: no session duplicated", task)
	}
	assert.Equal(t, 3, sum.completed+sum.failed)

	// The outcome is the one of an uninterrupted run with the same seed.
	other := filepath.Join(dir, "straight.db")
	mustRun(t, smallArgs(other)...)
	assert.Equal(t, mustState(t, other), after, "verdicts depend on the seed only")

	// Once everything is finished, a new run starts new workflows.
	out, sum = mustRun(t, smallArgs(path, "-workflows", "2")...)
	assert.Contains(t, out, "all 3 workflows in "+path+" are finished; created 2 workflows")
	assert.Equal(t, 2, sum.total)
	assert.Len(t, mustState(t, path), 5)
}

// crashWhileWorking runs the agents of the file until one of them has
// begun a session, and then closes the database under them, as a process
// that dies does: the sessions they began stay running, their items
// leased.
func crashWhileWorking(t *testing.T, path string) {
	t.Helper()
	db, err := livedb.Open(path, model.Schema(), nil)
	require.NoError(t, err)
	reg, err := livedb.NewRegistry(model.Functions()...)
	require.NoError(t, err)
	r, err := db.StartScheduler(reg, nil)
	require.NoError(t, err)
	begun := make(chan struct{}, 3)
	release := make(chan struct{})
	worked := make(chan error, 3)
	for _, at := range model.AgentTypes {
		pool := workpool.New(model.AgentPool(at).Name(), &workpool.Options{MaxParallelism: 1, Lease: 300 * time.Millisecond})
		go func() {
			worked <- pool.Work(context.Background(), r, func(ctx context.Context, it *workpool.Item) (any, error) {
				sid, _ := it.Args["sessionId"].(string)
				if _, err := model.Internal.BeginSession.Call(ctx, db, model.BeginArgs{SessionID: livedb.Ref[model.AgentSession](sid), AgentID: "doomed", WorkID: it.ID}); err != nil {
					return nil, err
				}
				begun <- struct{}{}
				<-release
				return nil, errors.New("dead")
			})
		}()
	}
	select {
	case <-begun:
	case <-time.After(time.Minute):
		t.Fatal("no agent began a session within a minute")
	}
	require.NoError(t, db.Close()) // the process dies
	close(release)
	for range model.AgentTypes {
		select {
		case err := <-worked:
			require.ErrorIs(t, err, livedb.ErrClosed)
		case <-time.After(time.Minute):
			t.Fatal("Work did not return within a minute of the database's close")
		}
	}
	require.NoError(t, r.Close())
}

func TestRun_SeedChangesOutcome(t *testing.T) {
	dir := t.TempDir()
	outcomes := map[string]bool{}
	for _, seed := range []string{"1", "2", "3", "4"} {
		path := filepath.Join(dir, "seed"+seed+".db")
		mustRun(t, smallArgs(path, "-seed", seed)...)
		var b strings.Builder
		for _, task := range tasks[:3] {
			b.WriteString(mustState(t, path)[task].steps + "|")
		}
		outcomes[b.String()] = true
	}
	assert.Greater(t, len(outcomes), 1, "the reviewer's verdicts vary with the seed")
}

func TestRun_Flags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-workflows", "0"}, "-workflows and -agents must be at least 1"},
		{[]string{"-agents", "0"}, "-workflows and -agents must be at least 1"},
		{[]string{"-rework", "1"}, "-rework must be in [0, 1)"},
		{[]string{"-work", "-1s"}, "-work must not be negative"},
		{[]string{"-max-iterations", "0"}, "-max-iterations must be at least 1"},
		{[]string{"-lease", "0s"}, "-lease must be positive"},
		{[]string{"-fail", "0.6", "-hang", "0.5"}, "their sum must be below 1"},
		{[]string{"-sweep", "10ms"}, "-sweep must be at least 1s"},
		{[]string{"-timeout", "-1s"}, "-timeout must not be negative"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			var out bytes.Buffer
			err := run(context.Background(), append(tc.args, "-db", path), &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NoFileExists(t, path, "nothing is created on a bad command line")
		})
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, out.String(), "-stop-after")
}

// cancelWriter cancels a context when the output first shows a workflow
// with a running session.
type cancelWriter struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("▶")) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

func TestRun_Interrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchestrator.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelWriter{cancel: cancel}
	require.NoError(t, run(ctx, smallArgs(path, "-work", "50ms"), out))
	assert.Contains(t, out.String(), "interrupted: ")
	assert.Contains(t, out.String(), "run again to resume them")
	st := mustState(t, path) // checks that no session was left running
	assert.Len(t, st, 3, "the workflows were created before the interruption")

	// Interrupted before it starts, a run fails with the context's error.
	var buf bytes.Buffer
	err := run(ctx, smallArgs(filepath.Join(t.TempDir(), "x.db")), &buf)
	require.ErrorIs(t, err, context.Canceled)
}

func TestTaskName_Unique(t *testing.T) {
	seen := map[string]bool{}
	for i := range 3 * len(tasks) {
		name := taskName(i)
		assert.False(t, seen[name], name)
		seen[name] = true
	}
}

// mainArgsEnv, when set, makes the test binary run main with the
// space-separated arguments it holds, instead of the tests: the exit status
// tests run the command that way.
const mainArgsEnv = "ORCHESTRATOR_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(mainArgsEnv); ok {
		os.Args = append([]string{"orchestrator"}, strings.Fields(args)...)
		main()
		os.Exit(0) // main returns only on success
	}
	os.Exit(m.Run())
}

// TestMain_ExitStatus runs the command as a process: -h prints the usage
// and exits 0, as a flag.ExitOnError command does; a bad command line
// exits 2 and says what is wrong, once.
func TestMain_ExitStatus(t *testing.T) {
	cases := []struct {
		args       string
		wantStatus int
		wantOut    string // in stdout
		wantErr    string // in stderr
	}{
		{args: "-h", wantStatus: 0, wantOut: "-stop-after"},
		{args: "-help", wantStatus: 0, wantOut: "-stop-after"},
		{args: "-nope", wantStatus: 2, wantOut: "flag provided but not defined: -nope"},
		{args: "-workflows 0", wantStatus: 2, wantErr: "orchestrator: -workflows and -agents must be at least 1\n"},
		{args: "extra", wantStatus: 2, wantErr: `orchestrator: unexpected argument "extra"` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.args, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			path := filepath.Join(t.TempDir(), "x.db")
			cmd := exec.CommandContext(ctx, os.Args[0])
			cmd.Env = append(os.Environ(), mainArgsEnv+"="+tc.args+" -db "+path)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			require.NoError(t, ctx.Err(), "orchestrator %s did not exit within a minute", tc.args)
			status := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				status = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantStatus, status, "exit status of orchestrator %s; stdout:\n%s\nstderr:\n%s", tc.args, &stdout, &stderr)
			assert.Contains(t, stdout.String(), tc.wantOut)
			assert.Equal(t, tc.wantErr, stderr.String())
			assert.NoFileExists(t, path, "nothing is created on a bad command line")
		})
	}
}

func TestCutWords(t *testing.T) {
	cases := []struct {
		s    string
		n    int
		want string
	}{
		{"Migrate settings to the new schema", 36, "Migrate settings to the new schema"}, // fits
		{"Migrate settings to the new schema (2)", 36, "Migrate settings to the new schema…"},
		{"Add retries to the HTTP client", 30, "Add retries to the HTTP client"},
		{"Add retries to the HTTP client", 29, "Add retries to the HTTP…"},
		{"Add retries to the HTTP client", 24, "Add retries to the HTTP…"}, // the space after HTTP is the boundary
		{"Add retries to the HTTP client", 23, "Add retries to the…"},
		{"Add retries  to", 14, "Add retries…"},             // spaces before the cut are dropped
		{"Supercalifragilistic words", 10, "Supercali…"},    // no boundary: cut in the word
		{"Évaluer les requêtes lentes", 20, "Évaluer les…"}, // characters, not bytes
		{"abc", 0, ""},
		{"abc", 1, "…"},
	}
	for _, tc := range cases {
		got := cutWords(tc.s, tc.n)
		assert.Equal(t, tc.want, got, "cutWords(%q, %d)", tc.s, tc.n)
		if len(tc.s) > tc.n {
			assert.LessOrEqual(t, utf8.RuneCountInString(got), tc.n, "cutWords(%q, %d) is too long", tc.s, tc.n)
		}
	}
}
