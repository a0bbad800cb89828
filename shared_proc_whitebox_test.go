package livedb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livedb-go/livedb/internal/pgtest"
	"github.com/livedb-go/livedb/internal/proctest"
)

// TestSharedProcess_SingletonLease runs the lease of a singleton role
// (sharedSingleton) in real processes: 3 processes compete for the role;
// the one running it writes a start marker into PostgreSQL when it starts
// and a stop marker when it stops, by the server's clock. The holder is
// killed with SIGKILL (twice, a new process joining after each kill), and
// another process must start the role within 2×leaseTTL of the kill; then
// the holder is stopped cleanly, which hands the role over within
// leaseTTL. At the end, the markers show that no two processes ever ran
// the role at once.
func TestSharedProcess_SingletonLease(t *testing.T) {
	const roleEnv, dsnEnv, copyEnv = "LIVEDB_LEASE_ROLE", "LIVEDB_LEASE_DSN", "LIVEDB_LEASE_COPY"
	if os.Getenv(roleEnv) == "holder" {
		leaseChild(t, os.Getenv(dsnEnv), os.Getenv(copyEnv))
		return
	}
	dsn := pgtest.Require(t).NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE lease_marks (pid int NOT NULL, kind text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		t.Fatal(err)
	}
	// events fans the children's lines in: which child said what.
	type event struct {
		p    *proctest.Proc
		line []string
	}
	events := make(chan event, 64)
	started := 0
	start := func() *proctest.Proc {
		copyPath := ""
		if started%2 == 1 {
			copyPath = filepath.Join(t.TempDir(), "copy.db")
		}
		p := proctest.Start(t, fmt.Sprintf("process %d", started), "TestSharedProcess_SingletonLease",
			roleEnv+"=holder", dsnEnv+"="+dsn, copyEnv+"="+copyPath)
		started++
		go func() {
			for f := range p.Lines() {
				events <- event{p, f}
			}
		}()
		return p
	}
	// next returns the next "start" line's process, failing on "fail".
	next := func(what string, within time.Duration) *proctest.Proc {
		t.Helper()
		timer := time.NewTimer(within)
		defer timer.Stop()
		for {
			select {
			case e := <-events:
				if os.Getenv("LIVEDB_PROC_TRACE") != "" {
					t.Logf("%s: %v", e.p.Name(), e.line)
				}
				switch e.line[0] {
				case "fail":
					t.Fatalf("%s failed: %v; its stderr:\n%s", e.p.Name(), e.line, e.p.Stderr())
				case "start":
					return e.p
				}
			case <-timer.C:
				t.Fatalf("%s: no process started the role within %v", what, within)
			}
		}
	}
	serverNow := func() time.Time {
		t.Helper()
		var now time.Time
		if err := conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&now); err != nil {
			t.Fatal(err)
		}
		return now
	}
	procs := []*proctest.Proc{start(), start(), start()}
	holder := next("the first holder", 3*leaseTTL)
	type handover struct {
		from     *proctest.Proc
		at       time.Time // by the server's clock: after the kill, or after the clean stop returned
		graceful bool
	}
	var handovers []handover
	for kill := range 2 {
		if !holder.Kill() {
			t.Fatalf("%s did not die of SIGKILL", holder.Name())
		}
		handovers = append(handovers, handover{from: holder, at: serverNow()})
		procs = slices.DeleteFunc(procs, func(p *proctest.Proc) bool { return p == holder })
		took := time.Now()
		holder = next(fmt.Sprintf("after kill %d", kill+1), 4*leaseTTL)
		t.Logf("kill %d: %s took the role over %v after the kill", kill+1, holder.Name(), time.Since(took).Round(time.Millisecond))
		procs = append(procs, start())
	}
	// A clean stop releases the lease at once.
	holder.Stop(time.Minute)
	handovers = append(handovers, handover{from: holder, at: serverNow(), graceful: true})
	procs = slices.DeleteFunc(procs, func(p *proctest.Proc) bool { return p == holder })
	holder = next("after the clean stop", 4*leaseTTL)
	// The holder last, so that no other takes over.
	for _, p := range procs {
		if p != holder {
			p.Stop(time.Minute)
		}
	}
	holder.Stop(time.Minute)

	// The markers: each process's run of the role, in server time.
	rows, err := conn.Query(ctx, "SELECT pid, kind, at FROM lease_marks ORDER BY at")
	if err != nil {
		t.Fatal(err)
	}
	type span struct {
		pid         int
		start, stop time.Time
	}
	var spans []span
	open := map[int]int{} // pid -> index in spans of its running span
	for rows.Next() {
		var pid int
		var kind string
		var at time.Time
		if err := rows.Scan(&pid, &kind, &at); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "start":
			if _, ok := open[pid]; ok {
				t.Fatalf("pid %d started the role twice without stopping", pid)
			}
			open[pid] = len(spans)
			spans = append(spans, span{pid: pid, start: at})
		case "stop":
			i, ok := open[pid]
			if !ok {
				t.Fatalf("pid %d stopped the role without starting it", pid)
			}
			spans[i].stop = at
			delete(open, pid)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The killed holders' spans end at their kill.
	for _, h := range handovers {
		if i, ok := open[h.from.Pid()]; ok && !h.graceful {
			spans[i].stop = h.at
			delete(open, h.from.Pid())
		}
	}
	if len(open) > 0 {
		t.Fatalf("processes %v never stopped the role", open)
	}
	if len(spans) != len(handovers)+1 {
		var sb strings.Builder
		for _, s := range spans {
			fmt.Fprintf(&sb, "\n  pid %d: %s to %s", s.pid, s.start.Format("15:04:05.000"), s.stop.Format("15:04:05.000"))
		}
		for _, h := range handovers {
			fmt.Fprintf(&sb, "\n  %s (pid %d) stopped at %s, graceful %v", h.from.Name(), h.from.Pid(), h.at.Format("15:04:05.000"), h.graceful)
		}
		t.Fatalf("%d runs of the role, want %d (one per holder):%s", len(spans), len(handovers)+1, sb.String())
	}
	for i := 1; i < len(spans); i++ {
		prev, cur := spans[i-1], spans[i]
		if !cur.start.After(prev.stop) {
			t.Fatalf("pid %d started the role at %v, before pid %d stopped it at %v: two holders at once", cur.pid, cur.start, prev.pid, prev.stop)
		}
		h := handovers[i-1]
		if prev.pid != h.from.Pid() {
			t.Fatalf("run %d was pid %d's, but %s (pid %d) was the holder stopped", i-1, prev.pid, h.from.Name(), h.from.Pid())
		}
		bound := 2 * leaseTTL
		if h.graceful {
			bound = leaseTTL
		}
		if d := cur.start.Sub(prev.stop); d > bound {
			t.Errorf("after %s's holder was stopped (graceful %v), pid %d took the role over after %v, want within %v", h.from.Name(), h.graceful, cur.pid, d, bound)
		}
	}
}

// leaseChild is a process of TestSharedProcess_SingletonLease: it runs the
// role "scheduler" through sharedSingleton, marking its starts and stops
// in the table lease_marks, until its standard input ends.
func leaseChild(t *testing.T, dsn, copyPath string) {
	db, err := Open(dsn, sharedTestSchema(), &Options{LocalCopy: copyPath})
	if err != nil {
		proctest.Fail("open: %v", err)
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		proctest.Fail("connect: %v", err)
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	pid := os.Getpid()
	mark := func(kind string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := conn.Exec(ctx, "INSERT INTO lease_marks (pid, kind) VALUES ($1, $2)", pid, kind); err != nil {
			proctest.Fail("mark %s: %v", kind, err)
			t.Error(err)
			return
		}
		proctest.Say("%s %s", kind, strconv.Itoa(pid))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.sharedSingleton(ctx, "scheduler", func(rctx context.Context) {
			mark("start")
			<-rctx.Done()
			mark("stop")
		})
	}()
	proctest.Say("ready")
	for range proctest.Commands() {
	}
	cancel()
	<-done
}
