package livedb_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// The crash harness: TestDB_Mutation_CrashRecovery re-executes the test
// binary as a child process (the same test, gated by crashChildEnv) that
// runs concurrent mutations on a bbolt file with fsync on and prints every
// acknowledged commit. The parent kills the child with SIGKILL at a random
// moment, reopens the file and checks that nothing acknowledged was lost,
// that no mutation is half visible, and that the change feed replays to
// exactly the stored state.
//
// Each round verifies what changed since the previous one: the parent keeps
// the state the change feed replayed to, reads only the new changes, and
// compares the stored documents they touched, the documents created since
// the previous round, their index entries, and a sample of older batches.
// Every crashFullEvery rounds, and after the last, it also runs Check and
// compares every stored document with a replay of the whole feed.
//
// The default run does crashDefaultRounds rounds; LIVEDB_CRASH_ROUNDS=250
// or -crash.rounds=250 runs the long one (go test -v shows its progress).
// LIVEDB_CRASH_FULL_EVERY sets crashFullEvery. LIVEDB_CRASH_SEED or
// -crash.seed replays a run.

var (
	crashRoundsFlag = flag.Int("crash.rounds", 0, "kill rounds of TestDB_Mutation_CrashRecovery (0: LIVEDB_CRASH_ROUNDS or 5)")
	crashSeedFlag   = flag.Uint64("crash.seed", 0, "seed of TestDB_Mutation_CrashRecovery (0: LIVEDB_CRASH_SEED or random)")
)

const (
	crashChildEnv      = "LIVEDB_CRASH_CHILD" // set in the child: the database path
	crashDefaultRounds = 5
	crashFullEvery     = 50 // rounds between two full verifications
	crashOldSample     = 16 // older batches checked each round
	crashWriters       = 4  // mutating goroutines in the child
	crashBatchDocs     = 3  // documents each batch inserts, all or none
	crashChildLifetime = 60 * time.Second
)

// crashSchema: items are written in batches of crashBatchDocs; each writer
// keeps a counter document holding the last batch it inserted, updated in
// the same mutation.
func crashSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"items": livedb.DefineTable(v.Object(v.Fields{
			"batch":  v.Int64(),
			"part":   v.Int64(),
			"writer": v.Int64(),
			"pad":    v.String(),
		})).Index("by_batch", "batch").Index("by_writer", "writer", "batch"),
		"counters": livedb.DefineTable(v.Object(v.Fields{
			"writer": v.Int64(),
			"last":   v.Int64(),
			"count":  v.Int64(),
		})).Index("by_writer", "writer"),
	})
}

func crashOptions() *livedb.Options {
	// fsync on; keep every change so the feed can be replayed in full; the
	// checks read whole tables in one query, however many rounds ran, and
	// every document a round created by ID (thousands, with commits of one
	// fdatasync each).
	return &livedb.Options{
		ChangeRetention: -1,
		Timeout:         10 * time.Second,
		Limits:          livedb.Limits{DocumentsRead: 1 << 30, BytesRead: 1 << 40, ReadIntervals: 1 << 30},
	}
}

func crashIntSetting(flagVal int, env string, def int) int {
	if flagVal > 0 {
		return flagVal
	}
	if s := os.Getenv(env); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return def
}

func TestDB_Mutation_CrashRecovery(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(t, path)
		return
	}
	rounds := crashIntSetting(*crashRoundsFlag, "LIVEDB_CRASH_ROUNDS", crashDefaultRounds)
	fullEvery := crashIntSetting(0, "LIVEDB_CRASH_FULL_EVERY", crashFullEvery)
	seed := *crashSeedFlag
	if seed == 0 {
		seed, _ = strconv.ParseUint(os.Getenv("LIVEDB_CRASH_SEED"), 10, 64)
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("crash harness: %d rounds, full verification every %d, seed %d (replay with -crash.seed=%d)", rounds, fullEvery, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6c69766564627))
	sample := rand.New(rand.NewPCG(seed, 2)) // apart, so that the kills replay with the seed
	path := filepath.Join(t.TempDir(), "crash.db")
	h := newCrashHistory()
	start := time.Now()
	killedBusy := 0
	progressEvery := max(1, rounds/10)
	for round := 1; round <= rounds; round++ {
		// Mostly kill once the child is mutating; sometimes while it opens.
		early := rng.IntN(10) == 0
		delay := 20*time.Millisecond + time.Duration(rng.Int64N(int64(250*time.Millisecond)))
		if !early && rng.IntN(4) == 0 {
			delay = time.Duration(rng.Int64N(int64(600 * time.Millisecond)))
		}
		acks, err := runCrashChild(t, path, round, rng.Uint64(), early, delay)
		if err != nil {
			t.Fatalf("round %d (seed %d): %v", round, seed, err)
		}
		if len(acks.inserted) > 0 {
			killedBusy++
		}
		h.add(acks)
		full := round == rounds || round%fullEvery == 0
		if err := verifyCrashRound(path, h, acks, full, sample); err != nil {
			t.Fatalf("round %d (seed %d, kill after %v, early=%v, full=%v): %v", round, seed, delay, early, full, err)
		}
		if round%progressEvery == 0 {
			t.Logf("crash harness: round %d/%d, %d acknowledged batches, %d documents, %v",
				round, rounds, h.acked(), len(h.docs), time.Since(start).Round(time.Millisecond))
		}
	}
	if h.acked() == 0 {
		t.Fatalf("no child acknowledged a commit in %d rounds: the harness tested nothing", rounds)
	}
	t.Logf("crash harness: %d rounds (%d killed while committing), %d acknowledged batches, %d acknowledged deletes, all intact; %v",
		rounds, killedBusy, h.acked(), len(h.deleted), time.Since(start).Round(time.Millisecond))
}

// crashAcks is what one child acknowledged.
type crashAcks struct {
	inserted   map[int64]uint64 // batch -> commit timestamp
	deleted    map[int64]uint64 // batch -> commit timestamp of its delete
	delStarted map[int64]bool   // batches the child tried to delete
}

// crashHistory accumulates the acknowledgements of every round, and the
// state the change feed replayed to in the rounds verified so far.
type crashHistory struct {
	inserted   map[int64]uint64
	deleted    map[int64]uint64
	delStarted map[int64]bool
	batches    []int64 // acknowledged inserts, in the order of their rounds

	docs         map[livedb.ID]crashDoc // the replay of the change feed
	feedTS       uint64                 // timestamp of the last change replayed
	lastCreation float64                // highest _creationTime replayed
}

// crashDoc is a document of the replayed state, with its table.
type crashDoc struct {
	table string
	doc   livedb.Doc
}

func newCrashHistory() *crashHistory {
	return &crashHistory{
		inserted: map[int64]uint64{}, deleted: map[int64]uint64{}, delStarted: map[int64]bool{},
		docs: map[livedb.ID]crashDoc{},
	}
}

func (h *crashHistory) add(a *crashAcks) {
	for b, ts := range a.inserted {
		h.inserted[b] = ts
		h.batches = append(h.batches, b)
	}
	for b, ts := range a.deleted {
		h.deleted[b] = ts
	}
	for b := range a.delStarted {
		h.delStarted[b] = true
	}
}

func (h *crashHistory) acked() int { return len(h.inserted) }

// runCrashChild runs one child until it is killed and returns what it
// acknowledged. With early set, the kill comes delay after the start
// (possibly during Open); otherwise delay after the child said it opened
// the database.
func runCrashChild(t *testing.T, path string, round int, seed uint64, early bool, delay time.Duration) (*crashAcks, error) {
	ctx, cancel := context.WithTimeout(context.Background(), crashChildLifetime)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDB_Mutation_CrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashChildEnv+"="+path,
		"LIVEDB_CRASH_ROUND="+strconv.Itoa(round),
		"LIVEDB_CRASH_CHILD_SEED="+strconv.FormatUint(seed, 10),
		"GOMAXPROCS=2",
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	acks := &crashAcks{inserted: map[int64]uint64{}, deleted: map[int64]uint64{}, delStarted: map[int64]bool{}}
	ready := make(chan struct{})
	var parseErr error
	var readDone sync.WaitGroup
	readDone.Add(1)
	go func() {
		defer readDone.Done()
		parseErr = parseCrashOutput(out, acks, ready)
	}()
	timer := time.NewTimer(delay)
	if !early {
		select {
		case <-ready:
			timer.Reset(delay)
		case <-ctx.Done():
		}
	}
	<-timer.C
	_ = cmd.Process.Signal(syscall.SIGKILL)
	readDone.Wait()
	werr := cmd.Wait()
	if parseErr != nil {
		return nil, fmt.Errorf("%w; stderr:\n%s", parseErr, stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(werr, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return nil, fmt.Errorf("child did not die of SIGKILL (%v); stderr:\n%s", werr, stderr.String())
	}
	return acks, nil
}

// parseCrashOutput reads the child's lines: "ready", "ins <batch> <ts>",
// "delstart <batch>", "del <batch> <ts>", "fail <message>". Lines of the
// test framework are ignored. A line cut by the kill is ignored too: every
// protocol line is written with one write(2), so a cut line was not
// acknowledged.
func parseCrashOutput(r io.Reader, acks *crashAcks, ready chan struct{}) error {
	sc := bufio.NewScanner(r)
	readyClosed := false
	var failure error
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "ready":
			if !readyClosed {
				close(ready)
				readyClosed = true
			}
		case "ins", "del":
			if len(f) != 3 {
				continue
			}
			b, err1 := strconv.ParseInt(f[1], 10, 64)
			ts, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			if f[0] == "ins" {
				acks.inserted[b] = ts
			} else {
				acks.deleted[b] = ts
			}
		case "delstart":
			if len(f) == 2 {
				if b, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					acks.delStarted[b] = true
				}
			}
		case "fail":
			if failure == nil {
				failure = fmt.Errorf("child failed: %s", sc.Text())
			}
		}
	}
	if !readyClosed {
		close(ready)
	}
	return failure
}

// crashChild is the child's body: open, then mutate from crashWriters
// goroutines until killed. It prints one protocol line per acknowledged
// commit, each with a single write.
func crashChild(t *testing.T, path string) {
	round, _ := strconv.ParseInt(os.Getenv("LIVEDB_CRASH_ROUND"), 10, 64)
	seed, _ := strconv.ParseUint(os.Getenv("LIVEDB_CRASH_CHILD_SEED"), 10, 64)
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...) + "\n"
		outMu.Lock()
		_, _ = os.Stdout.WriteString(line) // os.Stdout is unbuffered: one write(2)
		outMu.Unlock()
	}
	db, err := livedb.Open(path, crashSchema(), crashOptions())
	if err != nil {
		say("fail open: %v", err)
		t.Fatalf("open: %v", err)
	}
	say("ready")
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			writer := round*crashWriters + int64(w)
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var counterID livedb.ID
			var mine []int64 // batches inserted and not deleted
			for seq := int64(1); ; {
				if len(mine) > 0 && rng.IntN(5) == 0 {
					i := rng.IntN(len(mine))
					b := mine[i]
					mine = slices.Delete(mine, i, i+1)
					say("delstart %d", b)
					ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error { return crashDeleteBatch(m, b) })
					if err != nil {
						say("fail delete %d: %v", b, err)
						return
					}
					say("del %d %d", b, ts)
					continue
				}
				batch := writer<<32 | seq
				pad := strings.Repeat("x", rng.IntN(1000))
				var newCounter livedb.ID
				ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
					var err error
					newCounter, err = crashInsertBatch(m, counterID, writer, batch, pad)
					return err
				})
				if err != nil {
					say("fail insert %d: %v", batch, err)
					return
				}
				counterID = newCounter
				seq++
				mine = append(mine, batch)
				say("ins %d %d", batch, ts)
			}
		})
	}
	// The parent kills the child; this bound only stops an orphan.
	time.Sleep(crashChildLifetime)
	say("fail the parent never killed the child")
	os.Exit(3)
}

// crashInsertBatch inserts the batch's documents and inserts or updates
// the writer's counter; it returns the counter's ID.
func crashInsertBatch(m *livedb.MutationCtx, counterID livedb.ID, writer, batch int64, pad string) (livedb.ID, error) {
	for part := range int64(crashBatchDocs) {
		if _, err := m.DB.Insert("items", livedb.Doc{"batch": batch, "part": part, "writer": writer, "pad": pad}); err != nil {
			return "", err
		}
	}
	if counterID == "" {
		return m.DB.Insert("counters", livedb.Doc{"writer": writer, "last": batch, "count": int64(1)})
	}
	c, ok, err := m.DB.Get(counterID)
	switch {
	case err != nil:
		return "", fmt.Errorf("counter %s: %w", counterID, err)
	case !ok:
		return "", fmt.Errorf("counter %s was committed but is not found", counterID)
	}
	return counterID, m.DB.Patch(counterID, livedb.Doc{"last": batch, "count": c["count"].(int64) + 1})
}

func crashDeleteBatch(m *livedb.MutationCtx, batch int64) error {
	docs, err := m.DB.Query("items").WithIndex("by_batch", func(r livedb.IndexRange) livedb.IndexRange {
		return r.Eq("batch", batch)
	}).Collect()
	if err != nil {
		return err
	}
	if len(docs) != crashBatchDocs {
		return fmt.Errorf("batch %d has %d documents before its delete", batch, len(docs))
	}
	for _, d := range docs {
		if err := m.DB.Delete(d.ID()); err != nil {
			return err
		}
	}
	return nil
}

// verifyCrashAll checks the whole file against every acknowledgement so
// far: Check, every stored document, and a replay of the whole change
// feed, which must also equal the replay kept from round to round.
func verifyCrashAll(ctx context.Context, db *livedb.DB, h *crashHistory) error {
	if err := db.Check(ctx); err != nil {
		return fmt.Errorf("Check: %w", err)
	}
	var items, counters []livedb.Doc
	err := db.Query(ctx, func(q *livedb.QueryCtx) error {
		var err error
		if items, err = q.DB.Query("items").Collect(); err != nil {
			return err
		}
		counters, err = q.DB.Query("counters").Collect()
		return err
	})
	if err != nil {
		return err
	}
	// All or none: every batch present has all its parts.
	parts := map[int64][]int64{}
	lastOf := map[int64]int64{} // writer -> highest batch inserted (present or not)
	for _, d := range items {
		b := d["batch"].(int64)
		parts[b] = append(parts[b], d["part"].(int64))
	}
	for b, ps := range parts {
		slices.Sort(ps)
		if !slices.Equal(ps, []int64{0, 1, 2}) {
			return fmt.Errorf("batch %d is partly visible: parts %v", b, ps)
		}
	}
	// Every acknowledged insert is present unless a delete of it was tried;
	// every acknowledged delete is gone.
	for b := range h.inserted {
		_, present := parts[b]
		switch {
		case h.deleted[b] != 0:
			if present {
				return fmt.Errorf("batch %d: its delete was acknowledged but it is present", b)
			}
		case !h.delStarted[b] && !present:
			return fmt.Errorf("acknowledged batch %d is lost", b)
		}
	}
	// Counters move with their batches: each counter's last is the highest
	// batch its writer committed, which is at least every acknowledged one.
	for b := range h.inserted {
		w := b >> 32
		lastOf[w] = max(lastOf[w], b)
	}
	for _, c := range counters {
		w := c["writer"].(int64)
		if err := crashCounterHolds(c, w, lastOf[w]); err != nil {
			return err
		}
		delete(lastOf, w)
	}
	if len(lastOf) > 0 {
		return fmt.Errorf("writers with acknowledged batches but no counter (writer: last batch): %v", lastOf)
	}
	return verifyCrashFeed(ctx, db, h, items, counters)
}

// verifyCrashFeed replays the change feed from the start and checks that
// it has every acknowledged commit at its timestamp, in commit order, that
// each commit is a whole mutation, and that the replay gives exactly the
// stored documents (no gap, nothing extra).
func verifyCrashFeed(ctx context.Context, db *livedb.DB, h *crashHistory, items, counters []livedb.Doc) error {
	feed := db.Changes(0)
	state := map[livedb.ID]crashDoc{}
	byTS := map[uint64][]livedb.Change{}
	var order []uint64
	for {
		c, ok, err := feed.TryNext()
		if err != nil {
			return fmt.Errorf("change feed: %w", err)
		}
		if !ok {
			break
		}
		if n := len(order); n == 0 || order[n-1] != c.Timestamp {
			if n > 0 && c.Timestamp < order[n-1] {
				return fmt.Errorf("change feed goes back in time: %d after %d", c.Timestamp, order[n-1])
			}
			order = append(order, c.Timestamp)
		}
		byTS[c.Timestamp] = append(byTS[c.Timestamp], c)
		if err := applyCrashChange(state, c); err != nil {
			return err
		}
	}
	if last := db.LastTimestamp(); len(order) > 0 && order[len(order)-1] > last {
		return fmt.Errorf("change feed has timestamp %d after the last commit %d", order[len(order)-1], last)
	}
	// Each commit is one whole mutation.
	for ts, cs := range byTS {
		if err := crashCommitShape(cs); err != nil {
			return fmt.Errorf("commit at %d: %w", ts, err)
		}
	}
	// Every acknowledged commit is in the feed at its timestamp.
	for b, ts := range h.inserted {
		if batchOf(byTS[ts]) != b {
			return fmt.Errorf("acknowledged insert of batch %d at %d is not in the change feed", b, ts)
		}
	}
	for b, ts := range h.deleted {
		cs := byTS[ts]
		if batchOf(cs) != b || cs[0].Op != "delete" {
			return fmt.Errorf("acknowledged delete of batch %d at %d is not in the change feed", b, ts)
		}
	}
	// The replay is the stored state, and the replay kept from round to
	// round.
	stored := append(slices.Clone(items), counters...)
	if len(stored) != len(state) {
		return fmt.Errorf("the change feed replays to %d documents, the database holds %d", len(state), len(stored))
	}
	for _, d := range stored {
		if !relDocsEqual(state[d.ID()].doc, d) {
			return fmt.Errorf("document %s is %v, the change feed replays it as %v", d.ID(), d, state[d.ID()].doc)
		}
	}
	if len(h.docs) != len(state) {
		return fmt.Errorf("the whole change feed replays to %d documents, the replay kept from round to round has %d", len(state), len(h.docs))
	}
	for id, d := range state {
		if k, ok := h.docs[id]; !ok || k.table != d.table || !relDocsEqual(k.doc, d.doc) {
			return fmt.Errorf("document %s: the whole change feed replays it as %v, the replay kept from round to round as %v", id, d.doc, k.doc)
		}
	}
	return nil
}

// crashCommitShape checks that a commit's changes are one mutation of the
// child: crashBatchDocs item inserts and a counter insert or update, or
// crashBatchDocs item deletes, all of one batch.
func crashCommitShape(cs []livedb.Change) error {
	b := batchOf(cs)
	var ins, del, ctr int
	for _, c := range cs {
		switch {
		case c.Table == "counters" && c.Op != "delete":
			ctr++
			if c.New["last"].(int64) != b {
				return fmt.Errorf("counter set to batch %d in the commit of batch %d", c.New["last"].(int64), b)
			}
		case c.Table == "items" && c.Op == "insert" && c.New["batch"].(int64) == b:
			ins++
		case c.Table == "items" && c.Op == "delete" && c.Old["batch"].(int64) == b:
			del++
		default:
			return fmt.Errorf("unexpected change %v %s %s", c.Op, c.Table, c.ID)
		}
	}
	if !(ins == crashBatchDocs && ctr == 1 && del == 0 || del == crashBatchDocs && ins == 0 && ctr == 0) {
		return fmt.Errorf("partial mutation: %d inserts, %d counter writes, %d deletes", ins, ctr, del)
	}
	return nil
}

// batchOf returns the batch of a commit's first item change, or -1.
func batchOf(cs []livedb.Change) int64 {
	for _, c := range cs {
		if c.Table != "items" {
			continue
		}
		if c.New != nil {
			return c.New["batch"].(int64)
		}
		return c.Old["batch"].(int64)
	}
	return -1
}

// relDocsEqual compares two documents by Convex equality.
func relDocsEqual(a, b livedb.Doc) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	return v.Equal(relPlainDoc(a), relPlainDoc(b))
}

// relPlainDoc turns a Doc into a canonical map (_id as a string).
func relPlainDoc(d livedb.Doc) map[string]any {
	m := make(map[string]any, len(d))
	for k, x := range d {
		if id, ok := x.(livedb.ID); ok {
			x = string(id)
		}
		m[k] = x
	}
	return m
}
