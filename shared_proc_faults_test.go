package livedb_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb/internal/pgtest"
	"github.com/livedb-go/livedb/internal/proctest"
)

// Faults across processes: a writer process killed mid-commit, the
// PostgreSQL server stopped under load, and a process that joins late.

// loadAcks collects the batches a child's load acknowledged ("ins" lines)
// and its failures.
type loadAcks struct {
	acked   map[int64]uint64 // batch -> commit timestamp
	maxTS   uint64
	failed  map[string]int // failure kind ("unavailable", ...) -> count
	doubted []int64        // batches whose outcome is unknown
}

func newLoadAcks() *loadAcks {
	return &loadAcks{acked: map[int64]uint64{}, failed: map[string]int{}}
}

// take records a load line; it reports whether f was one.
func (a *loadAcks) take(t *testing.T, f []string) bool {
	t.Helper()
	switch f[0] {
	case "ins":
		ts := atou(t, f[2])
		a.acked[atoi(t, f[1])] = ts
		a.maxTS = max(a.maxTS, ts)
	case "unavailable", "unknown", "timeout":
		a.failed[f[0]]++
		if f[0] != "unavailable" {
			a.doubted = append(a.doubted, atoi(t, f[1]))
		}
	case "cut": // stopped by stopload mid-commit: not a failure
		a.doubted = append(a.doubted, atoi(t, f[1]))
	default:
		return false
	}
	return true
}

func (a *loadAcks) failures() int {
	n := 0
	for _, c := range a.failed {
		n += c
	}
	return n
}

// awaitLine reads p's lines until one of kind, giving the load lines to
// acks (which may be nil when p runs no load); any other line fails.
func awaitLine(t *testing.T, p *proctest.Proc, acks *loadAcks, kind string) []string {
	t.Helper()
	for {
		f := p.Next(procWait)
		if f[0] == kind {
			return f[1:]
		}
		if acks == nil || !acks.take(t, f) {
			t.Fatalf("%s said %q while %q was awaited", p.Name(), strings.Join(f, " "), kind)
		}
	}
}

// batchList formats batches for a verify command.
func batchList(m map[int64]uint64) string {
	var sb strings.Builder
	for b := range m {
		sb.WriteString(" ")
		sb.WriteString(strconv.FormatInt(b, 10))
	}
	return sb.String()
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// TestSharedProcess_KillWriter kills a writer process with SIGKILL at a
// random moment, mostly while it commits, 50 rounds on one database (set
// LIVEDB_PROC_KILL_ROUNDS for more). The writer said each acknowledged
// commit's batch before it was killed; after each kill a survivor catches
// up and checks that every acknowledged batch is there and that every
// batch is whole (a batch's mutation inserts procBatchParts documents),
// and both survivors, which write all along, commit again. Every other
// round's writer reopens the same bbolt copy, which the previous kill
// left behind. The next round's writer starts while a round is checked.
// LIVEDB_SEED replays the kill plan; LIVEDB_PROC_TRACE=1 logs each round.
func TestSharedProcess_KillWriter(t *testing.T) {
	if isProcChild(t) {
		return
	}
	rounds := envInt("LIVEDB_PROC_KILL_ROUNDS", 50)
	s1, s2 := rxSeed(t)
	rng := rand.New(rand.NewPCG(s1, s2))
	dsn := pgtest.Require(t).NewDatabase(t)
	const test = "TestSharedProcess_KillWriter"
	survivors := []*proctest.Proc{startNode(t, test, 0, dsn, ""), startNode(t, test, 1, dsn, nodeCopy(t, 1))}
	survivorAcks := []*loadAcks{newLoadAcks(), newLoadAcks()}
	for _, p := range survivors {
		p.Send("load 1 60000 20")
		p.Expect("loading", procWait)
	}
	writerCopy := filepath.Join(t.TempDir(), "writer.db")
	all := newLoadAcks() // every acknowledged batch, of every process
	start := time.Now()
	killedAcking := 0
	// Mostly kill once the writer commits; one round in ten, while it
	// opens (or loads its copy, or catches up).
	type plan struct {
		early bool
		delay time.Duration // after the start (early) or the load's start
	}
	plans := make([]plan, rounds)
	for i := range plans {
		plans[i].early = rng.IntN(10) == 0
		plans[i].delay = time.Duration(rng.Int64N(int64(150 * time.Millisecond)))
		if plans[i].early {
			plans[i].delay = time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
		}
	}
	startWriter := func(round int) *proctest.Proc {
		copyPath := ""
		if round%2 == 1 {
			copyPath = writerCopy
		}
		return startNodeNoWait(t, test, 100+round, dsn, copyPath)
	}
	var next *proctest.Proc // the next round's writer, started while this round is checked
	for round := range rounds {
		early, delay := plans[round].early, plans[round].delay
		w := next
		if w == nil {
			w = startWriter(round)
		}
		next = nil
		var readyAfter time.Duration
		if !early {
			w.Expect("ready", procWait)
			readyAfter = time.Since(w.Started)
			w.Send("load 4 60000")
			w.Expect("loading", procWait)
		}
		kill := time.NewTimer(delay)
		acks := newLoadAcks()
		drained := false
		for !drained {
			select {
			case <-kill.C:
				if !w.Kill() {
					t.Fatalf("round %d: the writer did not die of SIGKILL; its stderr:\n%s", round, w.Stderr())
				}
				for f := range w.Lines() {
					if f[0] == "fail" {
						t.Fatalf("round %d: the writer failed: %v; its stderr:\n%s", round, f, w.Stderr())
					}
					if f[0] != "ready" && f[0] != "loading" && !acks.take(t, f) {
						t.Fatalf("round %d: the writer said %v", round, f)
					}
				}
				drained = true
			case f, ok := <-w.Lines():
				if !ok {
					t.Fatalf("round %d: the writer ended before it was killed; its stderr:\n%s", round, w.Stderr())
				}
				if f[0] == "fail" {
					t.Fatalf("round %d: the writer failed: %v; its stderr:\n%s", round, f, w.Stderr())
				}
				if f[0] != "ready" && f[0] != "loading" && !acks.take(t, f) {
					t.Fatalf("round %d: the writer said %v", round, f)
				}
			}
		}
		if n := acks.failures(); n > 0 {
			t.Fatalf("round %d: the writer's commits failed with the server up: %v", round, acks.failed)
		}
		if len(acks.acked) > 0 {
			killedAcking++
		}
		for b, ts := range acks.acked {
			all.acked[b] = ts
			all.maxTS = max(all.maxTS, ts)
		}
		roundKilled := time.Now()
		if round+1 < rounds && !plans[round+1].early {
			next = startWriter(round + 1)
		}
		// A survivor checks; both commit again.
		v := round % 2
		survivors[v].Send("verify %d%s", all.maxTS, batchList(acks.acked))
		awaitLine(t, survivors[v], survivorAcks[v], "verified")
		for i, p := range survivors {
			p.Send("insert 0 %d", round)
			awaitLine(t, p, survivorAcks[i], "inserted")
		}
		if os.Getenv("LIVEDB_PROC_TRACE") != "" {
			t.Logf("round %d: ready after %v, early %v delay %v, %d acked, checked in %v", round, readyAfter, early, delay, len(acks.acked), time.Since(roundKilled))
		}
	}
	// The survivors wrote all along without a failure, and each holds
	// every batch acknowledged by anyone.
	for i, p := range survivors {
		p.Send("stopload")
		awaitLine(t, p, survivorAcks[i], "stopped")
		require.Zero(t, survivorAcks[i].failures(), "%s: failed commits with the server up: %v", p.Name(), survivorAcks[i].failed)
		for b, ts := range survivorAcks[i].acked {
			all.acked[b] = ts
			all.maxTS = max(all.maxTS, ts)
		}
	}
	for i, p := range survivors {
		p.Send("verify %d%s", all.maxTS, batchList(all.acked))
		awaitLine(t, p, survivorAcks[i], "verified")
	}
	stopNodes(t, survivors)
	if killedAcking < rounds/4 {
		t.Errorf("only %d of %d writers were killed after acknowledging commits: the kills came too early to test much", killedAcking, rounds)
	}
	t.Logf("%d kill rounds (%d writers killed while committing), %d acknowledged batches, all whole and present; %v",
		rounds, killedAcking, len(all.acked), time.Since(start).Round(time.Millisecond))
}

// TestSharedProcess_PostgresRestart crashes, then stops, the PostgreSQL
// server while 3 processes × 4 writers commit: each commit succeeds or
// fails with ErrUnavailable, ErrOutcomeUnknown or its context's deadline
// (any other error fails the child); every process goes on committing
// once the server is back, by itself; every acknowledged batch is then
// in every process and every batch is whole; and a commit after the
// restart reaches the others' CatchUp and subscriptions.
func TestSharedProcess_PostgresRestart(t *testing.T) {
	if isProcChild(t) {
		return
	}
	c := pgtest.Require(t)
	if c.External() {
		t.Fatalf("this test stops and restarts PostgreSQL: it needs a cluster started by the tests, not %s", pgtest.URLEnv)
	}
	dsn := c.NewDatabase(t)
	nodes := startNodes(t, "TestSharedProcess_PostgresRestart", 3, dsn)
	acks := make([]*loadAcks, len(nodes))
	for i, p := range nodes {
		acks[i] = newLoadAcks()
		p.Send("watch")
		awaitLine(t, p, nil, "watching")
		p.Send("load 4 3000")
		awaitLine(t, p, acks[i], "loading")
	}
	running := true
	t.Cleanup(func() {
		if !running {
			_ = c.Start() // the database's cleanup needs the server
		}
		// The backend matrix's connection did not survive the restart.
		matrixDB.mu.Lock()
		if matrixDB.conn != nil {
			_ = matrixDB.conn.Close(context.Background())
			matrixDB.conn = nil
		}
		matrixDB.mu.Unlock()
	})
	for _, stop := range []struct {
		name string
		fn   func() error
	}{{"crash", c.Crash}, {"stop", c.Stop}} {
		// Under load first: each process acknowledges some commits.
		for i, p := range nodes {
			for n := len(acks[i].acked) + 5; len(acks[i].acked) < n; {
				f := p.Next(procWait)
				if !acks[i].take(t, f) {
					t.Fatalf("%s said %v", p.Name(), f)
				}
			}
		}
		require.NoError(t, stop.fn(), stop.name)
		running = false
		// Each process's writers fail, with typed errors.
		for i, p := range nodes {
			for n := acks[i].failures() + 1; acks[i].failures() < n; {
				f := p.Next(procWait)
				if !acks[i].take(t, f) {
					t.Fatalf("%s said %v", p.Name(), f)
				}
			}
		}
		require.NoError(t, c.Start(), "restart after the %s", stop.name)
		running = true
		// Each process commits again, by itself.
		for i, p := range nodes {
			before := len(acks[i].acked)
			for len(acks[i].acked) == before {
				f := p.Next(procWait)
				if !acks[i].take(t, f) {
					t.Fatalf("%s said %v", p.Name(), f)
				}
			}
		}
	}
	all := newLoadAcks()
	for i, p := range nodes {
		p.Send("stopload")
		awaitLine(t, p, acks[i], "stopped")
		for b, ts := range acks[i].acked {
			all.acked[b] = ts
			all.maxTS = max(all.maxTS, ts)
		}
		t.Logf("%s: %d batches acknowledged, failures %v", p.Name(), len(acks[i].acked), acks[i].failed)
	}
	for _, p := range nodes {
		p.Send("verify %d%s", all.maxTS, batchList(all.acked))
		awaitLine(t, p, nil, "verified")
	}
	// A commit after the restart reaches the others' CatchUp and their
	// subscriptions.
	nodes[0].Send("insert 1 777")
	f := awaitLine(t, nodes[0], nil, "inserted")
	for _, p := range nodes[1:] {
		p.Send("see %s %s 1", f[1], f[0])
		seen := awaitLine(t, p, nil, "seen")
		require.Equal(t, []string{"true", "777"}, seen[:2], "%s sees the commit of %s after the restart", p.Name(), nodes[0].Name())
		require.Contains(t, seen[2+4*1+3], f[0]+":777", "%s: bucket 1's subscription holds the commit", p.Name())
	}
	stopNodes(t, nodes)
}

// procRace is set by race_on_test.go when the race detector is on.
var procRace bool

// lateDocs is how many items TestSharedProcess_LateJoin writes before the
// late process starts: LIVEDB_PROC_LATE_DOCS, else a CI-friendly size.
func lateDocs() int {
	if procRace || testing.Short() {
		return envInt("LIVEDB_PROC_LATE_DOCS", 3_000)
	}
	return envInt("LIVEDB_PROC_LATE_DOCS", 20_000)
}

// TestSharedProcess_LateJoin: a process that starts after the others
// wrote lateDocs items (100k with LIVEDB_PROC_LATE_DOCS=100000), while one
// of them keeps writing, loads the shared state, catches up and answers
// queries exactly as they do; restarted from its bbolt copy after more
// writes, it catches up from the log and answers as they do again.
func TestSharedProcess_LateJoin(t *testing.T) {
	if isProcChild(t) {
		return
	}
	docs := lateDocs()
	dsn := pgtest.Require(t).NewDatabase(t)
	const test = "TestSharedProcess_LateJoin"
	nodes := startNodes(t, test, 2, dsn)
	fillStart := time.Now()
	nodes[0].Send("fill %d 1000", docs)
	filled := atou(t, nodes[0].Expect("filled", procWait)[0])
	fillTime := time.Since(fillStart)
	loadAck := newLoadAcks()
	nodes[1].Send("load 2 60000")
	awaitLine(t, nodes[1], loadAck, "loading")

	lateCopy := filepath.Join(t.TempDir(), "late.db")
	late := startNodeNoWait(t, test, 2, dsn, lateCopy)
	ready := late.Expect("ready", procWait)
	openTime := time.Since(late.Started)
	late.Send("digest %d", filled)
	late.Expect("digest", procWait)
	caughtUp := time.Since(late.Started)
	t.Logf("%d documents (filled in %v); the late process was ready after %v (Open: %sµs in the child), caught up with the fill after %v",
		docs, fillTime.Round(time.Millisecond), openTime.Round(time.Millisecond), ready[1], caughtUp.Round(time.Millisecond))

	nodes[1].Send("stopload")
	awaitLine(t, nodes[1], loadAck, "stopped")
	require.NotZero(t, len(loadAck.acked), "the writer committed while the late process joined")
	last := max(loadAck.maxTS, filled)
	digests := func(procs []*proctest.Proc, ts uint64) {
		t.Helper()
		var first []string
		for _, p := range procs {
			p.Send("digest %d", ts)
			d := p.Expect("digest", procWait)
			if first == nil {
				first = d
				require.Equal(t, strconv.Itoa(docs), d[1], "%s: items", p.Name())
				continue
			}
			require.Equal(t, first, d, "digest (timestamp, items, parts, hash) of %s and %s", procs[0].Name(), p.Name())
		}
	}
	digests([]*proctest.Proc{nodes[0], nodes[1], late}, last)

	// Restarted from its copy after more writes, it catches up from the
	// log.
	late.Stop(procWait)
	nodes[1].Send("load 2 60000")
	awaitLine(t, nodes[1], loadAck, "loading")
	late = startNode(t, test, 2, dsn, lateCopy)
	nodes[1].Send("stopload")
	awaitLine(t, nodes[1], loadAck, "stopped")
	digests([]*proctest.Proc{nodes[0], nodes[1], late}, max(last, loadAck.maxTS))
	stopNodes(t, append(nodes, late))
}
