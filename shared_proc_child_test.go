package livedb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/proctest"
	"github.com/livedb-go/livedb/v"
)

// The multi-process tests of a shared database (shared_proc_test.go,
// shared_proc_faults_test.go) start the test binary again as child
// processes, each one process of the shared database: the child runs the
// parent's test function with procRoleEnv set, opens the database named by
// procDSNEnv (with its copy in the bbolt file procCopyEnv, or in memory
// when it is empty), says "ready" and then runs the commands the parent
// sends, one per line (procNode.run), until its standard input ends.

const (
	procRoleEnv = "LIVEDB_PROC_ROLE" // "node" in a child
	procDSNEnv  = "LIVEDB_PROC_DSN"
	procCopyEnv = "LIVEDB_PROC_COPY"
	procIDEnv   = "LIVEDB_PROC_ID" // the child's number, in its writers' IDs
)

// procWait bounds every wait for a child's answer. It is not a speed
// limit, only a bound that turns a hang into a failure naming the wait.
const procWait = 2 * time.Minute

// procSchema is the schema every process opens: bank accounts and the
// log of the transfers between them, items in buckets (the disjoint
// ranges subscriptions watch), and the parts of batches, which mutations
// insert whole.
func procSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"accounts": livedb.DefineTable(v.Object(v.Fields{
			"owner":   v.String(),
			"balance": v.Int64(),
		})).Index("by_owner", "owner"),
		"transfers": livedb.DefineTable(v.Object(v.Fields{
			"proc":     v.Int64(),
			"writer":   v.Int64(),
			"seq":      v.Int64(),
			"from":     v.Int64(),
			"to":       v.Int64(),
			"fromRead": v.Int64(),
			"toRead":   v.Int64(),
			"amount":   v.Int64(),
		})),
		"items": livedb.DefineTable(v.Object(v.Fields{
			"bucket": v.Int64(),
			"n":      v.Int64(),
		})).Index("by_bucket", "bucket").Index("by_bucket_n", "bucket", "n"),
		"parts": livedb.DefineTable(v.Object(v.Fields{
			"batch": v.Int64(),
			"part":  v.Int64(),
		})).Index("by_batch", "batch"),
	})
}

// procBatchParts is how many documents one batch mutation inserts: all
// of them or none must be visible.
const procBatchParts = 3

func procOptions(copyPath string) *livedb.Options {
	return &livedb.Options{
		LocalCopy:  copyPath,
		MaxRetries: 10_000,
		Timeout:    time.Minute,
		Limits:     livedb.Limits{DocumentsRead: 1 << 30, BytesRead: 1 << 40, DocumentsWritten: 1 << 20, BytesWritten: 1 << 30},
	}
}

// startNode starts child process number id of the shared database dsn,
// running test's function, with its copy in a bbolt file at copyPath, or
// in memory when copyPath is "". It waits for the child's "ready".
func startNode(t *testing.T, test string, id int, dsn, copyPath string) *proctest.Proc {
	t.Helper()
	p := startNodeNoWait(t, test, id, dsn, copyPath)
	p.Expect("ready", procWait)
	return p
}

// startNodeNoWait is startNode without the wait for "ready".
func startNodeNoWait(t *testing.T, test string, id int, dsn, copyPath string) *proctest.Proc {
	t.Helper()
	kind := "memory"
	if copyPath != "" {
		kind = "bbolt"
	}
	return proctest.Start(t, fmt.Sprintf("process %d (%s copy)", id, kind), test,
		procRoleEnv+"=node", procDSNEnv+"="+dsn, procCopyEnv+"="+copyPath, procIDEnv+"="+strconv.Itoa(id))
}

// nodeCopy returns a bbolt copy path for every other process (odd ids),
// "" (memory) for the others.
func nodeCopy(t *testing.T, id int) string {
	if id%2 == 0 {
		return ""
	}
	return filepath.Join(t.TempDir(), fmt.Sprintf("copy%d.db", id))
}

// isProcChild reports whether this test binary is a child, and runs the
// child's body then: the caller returns at once.
func isProcChild(t *testing.T) bool {
	if os.Getenv(procRoleEnv) != "node" {
		return false
	}
	runNode(t)
	return true
}

// procNode is a child: one process of the shared database.
type procNode struct {
	t  *testing.T
	db *livedb.DB
	id int64

	subs struct {
		sync.Mutex
		runs [procBuckets]atomic.Int64
		last [procBuckets]livedb.Update[map[livedb.ID]int64]
		got  [procBuckets]int // updates received
		// changed is closed and replaced at each update received.
		changed chan struct{}
	}
	load struct {
		stop   context.CancelFunc
		wg     sync.WaitGroup
		maxTS  atomic.Uint64
		acked  atomic.Int64
		errors atomic.Int64
	}
	verified map[int64]bool // batches a verify command was told of
}

// procBuckets is how many item buckets the subscriptions watch.
const procBuckets = 3

func runNode(t *testing.T) {
	id, _ := strconv.Atoi(os.Getenv(procIDEnv))
	start := time.Now()
	db, err := livedb.Open(os.Getenv(procDSNEnv), procSchema(), procOptions(os.Getenv(procCopyEnv)))
	if err != nil {
		proctest.Fail("open: %v", err)
		t.Fatalf("open: %v", err)
	}
	n := &procNode{t: t, db: db, id: int64(id), verified: map[int64]bool{}}
	proctest.Say("ready %d %d", db.LastTimestamp(), time.Since(start).Microseconds())
	for cmd := range proctest.Commands() {
		if err := n.run(cmd); err != nil {
			proctest.Fail("%s: %v", cmd[0], err)
			t.Errorf("%s: %v", strings.Join(cmd, " "), err)
		}
	}
	if n.load.stop != nil {
		n.load.stop()
		n.load.wg.Wait()
	}
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check at the end: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// run runs one command of the parent and says its answer.
func (n *procNode) run(cmd []string) error {
	args := make([]int64, 0, len(cmd)-1)
	for _, a := range cmd[1:] {
		if x, err := strconv.ParseInt(a, 10, 64); err == nil {
			args = append(args, x) // the numbers; a document ID is read by its position
		}
	}
	arg := func(i int) int64 {
		if i < len(args) {
			return args[i]
		}
		return 0
	}
	ctx := context.Background()
	switch cmd[0] {
	case "watch":
		return n.watch()
	case "insert": // insert <bucket> <n>: an item
		var id livedb.ID
		ts, err := n.db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			var err error
			id, err = m.DB.Insert("items", livedb.Doc{"bucket": arg(0), "n": arg(1)})
			return err
		})
		if err != nil {
			return err
		}
		proctest.Say("inserted %s %d", id, ts)
	case "see": // see <ts> <id> <bucket>
		return n.see(uint64(arg(0)), livedb.ID(cmd[2]), int(arg(1)))
	case "bank": // bank <writers> <moves> <seed ts> <accounts>
		return n.bank(int(arg(0)), int(arg(1)), uint64(arg(2)), int(arg(3)))
	case "balances": // balances <ts>
		return n.balances(uint64(arg(0)))
	case "load": // load <writers> <timeout ms> [<pause ms>]: batches, until stopload
		n.startLoad(int(arg(0)), time.Duration(arg(1))*time.Millisecond, time.Duration(arg(2))*time.Millisecond)
		proctest.Say("loading")
	case "stopload":
		n.load.stop()
		n.load.wg.Wait()
		n.load.stop = nil
		proctest.Say("stopped %d %d %d", n.load.maxTS.Load(), n.load.acked.Load(), n.load.errors.Load())
	case "loaded": // how many batches the load acknowledged so far
		proctest.Say("loaded %d %d", n.load.acked.Load(), n.load.errors.Load())
	case "verify": // verify <ts> <batch>...: every batch told of is whole
		return n.verify(uint64(arg(0)), args[1:])
	case "fill": // fill <count> <chunk>: items
		return n.fill(int(arg(0)), int(arg(1)))
	case "digest": // digest <ts>
		return n.digest(uint64(arg(0)))
	default:
		return fmt.Errorf("unknown command %q", cmd[0])
	}
	return nil
}

// watch subscribes to each bucket's items, counting the query's runs.
func (n *procNode) watch() error {
	n.subs.changed = make(chan struct{})
	for b := range procBuckets {
		fn := rxBucketFn(int64(b))
		sub, err := livedb.Subscribe(context.Background(), n.db, func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
			n.subs.runs[b].Add(1)
			return fn(q)
		})
		if err != nil {
			return err
		}
		select {
		case u := <-sub.Updates():
			n.subs.Lock()
			n.subs.last[b], n.subs.got[b] = u, 1
			n.subs.Unlock()
		case <-time.After(procWait):
			return fmt.Errorf("bucket %d: no first result after %v", b, procWait)
		}
		go func() {
			for u := range sub.Updates() {
				n.subs.Lock()
				n.subs.last[b] = u
				n.subs.got[b]++
				close(n.subs.changed)
				n.subs.changed = make(chan struct{})
				n.subs.Unlock()
			}
		}()
	}
	proctest.Say("watching")
	return nil
}

// see waits until the process has applied ts, its subscriptions have
// caught up with it and bucket's subscription has received its update,
// then says whether it sees item id, and each bucket subscription's runs,
// updates received, last timestamp and last value:
// "seen <found> <n> (<runs> <updates> <ts> <value>)×procBuckets".
func (n *procNode) see(ts uint64, id livedb.ID, bucket int) error {
	ctx, cancel := context.WithTimeout(context.Background(), procWait)
	defer cancel()
	if err := n.db.CatchUp(ctx, ts); err != nil {
		return fmt.Errorf("CatchUp(%d): %w", ts, err)
	}
	if _, err := n.db.WaitSubscriptions(ctx, ts); err != nil {
		return fmt.Errorf("WaitSubscriptions(%d): %w", ts, err)
	}
	// WaitSubscriptions returns once the update is in the subscription's
	// channel; the goroutine that drains it may not have taken it yet.
	for {
		n.subs.Lock()
		got, changed := n.subs.last[bucket].Timestamp, n.subs.changed
		n.subs.Unlock()
		if got >= ts {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("bucket %d's subscription: no update at %d (last at %d): %w", bucket, ts, got, ctx.Err())
		}
	}
	var doc livedb.Doc
	var found bool
	if err := n.db.Query(ctx, func(q *livedb.QueryCtx) error {
		var err error
		doc, found, err = q.DB.Get(id)
		return err
	}); err != nil {
		return err
	}
	var nv int64 = -1
	if found {
		nv = doc["n"].(int64)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "seen %v %d", found, nv)
	n.subs.Lock()
	for b := range procBuckets {
		fmt.Fprintf(&sb, " %d %d %d %s", n.subs.runs[b].Load(), n.subs.got[b], n.subs.last[b].Timestamp, itemsString(n.subs.last[b].Value))
	}
	n.subs.Unlock()
	proctest.Say("%s", sb.String())
	return nil
}

// itemsString writes a bucket's items as "id:n,id:n" in ID order ("-"
// for none), one field of a protocol line.
func itemsString(m map[livedb.ID]int64) string {
	if len(m) == 0 {
		return "-"
	}
	ids := make([]livedb.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s:%d", id, m[id])
	}
	return strings.Join(parts, ",")
}

// bankAccounts returns the accounts' IDs and balances, in owner order, and
// the snapshot's timestamp.
func bankAccounts(q *livedb.QueryCtx) ([]livedb.ID, []int64, error) {
	docs, err := q.DB.Query("accounts").WithIndex("by_owner", nil).Collect()
	if err != nil {
		return nil, nil, err
	}
	ids := make([]livedb.ID, len(docs))
	bal := make([]int64, len(docs))
	for i, d := range docs {
		ids[i], bal[i] = d.ID(), d["balance"].(int64)
	}
	return ids, bal, nil
}

func joinInts(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, " ")
}

// bank runs writers goroutines that each make moves transfers between
// random accounts, and a reader that checks the total of every snapshot,
// until the writers are done. Each acknowledged transfer says
// "tx <proc> <writer> <seq> <ts> <from> <fromRead> <to> <toRead> <amount>";
// the reader says "snap <ts> <balances...>" for each new snapshot it read.
// The end says "banked <max ts>".
func (n *procNode) bank(writers, moves int, seeded uint64, accounts int) error {
	ctx, cancel := context.WithTimeout(context.Background(), procWait)
	defer cancel()
	if err := n.db.CatchUp(ctx, seeded); err != nil {
		return err
	}
	var ids []livedb.ID
	var want int64
	if err := n.db.Query(ctx, func(q *livedb.QueryCtx) error {
		var bal []int64
		var err error
		ids, bal, err = bankAccounts(q)
		for _, b := range bal {
			want += b
		}
		return err
	}); err != nil {
		return err
	}
	if len(ids) != accounts {
		return fmt.Errorf("%d accounts after the seed, want %d", len(ids), accounts)
	}
	var maxTS atomic.Uint64
	errs := make(chan error, writers+1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(n.id), uint64(w)))
			for seq := range moves {
				from := rng.IntN(accounts)
				to := (from + 1 + rng.IntN(accounts-1)) % accounts
				amount := 1 + rng.Int64N(50)
				var fromRead, toRead int64
				ts, err := n.db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
					a, _, err := m.DB.Get(ids[from])
					if err != nil {
						return err
					}
					b, _, err := m.DB.Get(ids[to])
					if err != nil {
						return err
					}
					fromRead, toRead = a["balance"].(int64), b["balance"].(int64)
					if err := m.DB.Patch(ids[from], livedb.Doc{"balance": fromRead - amount}); err != nil {
						return err
					}
					if err := m.DB.Patch(ids[to], livedb.Doc{"balance": toRead + amount}); err != nil {
						return err
					}
					_, err = m.DB.Insert("transfers", livedb.Doc{
						"proc": n.id, "writer": int64(w), "seq": int64(seq), "from": int64(from), "to": int64(to),
						"fromRead": fromRead, "toRead": toRead, "amount": amount,
					})
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d transfer %d: %w", w, seq, err)
					return
				}
				proctest.Say("tx %d %d %d %d %d %d %d %d %d", n.id, w, seq, ts, from, fromRead, to, toRead, amount)
				for old := maxTS.Load(); ts > old && !maxTS.CompareAndSwap(old, ts); old = maxTS.Load() {
				}
			}
		})
	}
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond) // paces the reader; nothing waits on it
		defer tick.Stop()
		var last uint64
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var bal []int64
			var ts uint64
			err := n.db.Query(ctx, func(q *livedb.QueryCtx) error {
				var err error
				_, bal, err = bankAccounts(q)
				ts = q.DB.Timestamp()
				return err
			})
			if err != nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
			var sum int64
			for _, b := range bal {
				sum += b
			}
			if sum != want {
				errs <- fmt.Errorf("reader: the snapshot at %d sums to %d, want %d: %v", ts, sum, want, bal)
				return
			}
			if ts != last {
				last = ts
				proctest.Say("snap %d %s", ts, joinInts(bal))
			}
		}
	})
	wg.Wait()
	close(stop)
	reader.Wait()
	close(errs)
	if err := errors.Join(slices.Collect(chanValues(errs))...); err != nil {
		return err
	}
	proctest.Say("banked %d", maxTS.Load())
	return nil
}

func chanValues[T any](ch <-chan T) func(yield func(T) bool) {
	return func(yield func(T) bool) {
		for x := range ch {
			if !yield(x) {
				return
			}
		}
	}
}

// balances catches up with ts and says
// "balances <last ts> <transfers> <balances...>".
func (n *procNode) balances(ts uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), procWait)
	defer cancel()
	if err := n.db.CatchUp(ctx, ts); err != nil {
		return err
	}
	return n.db.Query(ctx, func(q *livedb.QueryCtx) error {
		_, bal, err := bankAccounts(q)
		if err != nil {
			return err
		}
		tr, err := q.DB.Query("transfers").Collect()
		if err != nil {
			return err
		}
		proctest.Say("balances %d %d %s", q.DB.Timestamp(), len(tr), joinInts(bal))
		return nil
	})
}

// startLoad starts writers goroutines that insert batches of
// procBatchParts parts until stopload, each mutation bounded by timeout,
// pausing for pause after each acknowledged one.
// Each says "ins <batch> <ts>" once acknowledged; a failure says
// "unavailable <batch>", "unknown <batch>" or "timeout <batch>" (the
// batch may or may not have committed for the last two) and the writer
// goes on; any other error fails the child. A commit that stopload cuts
// short says "cut <batch>".
func (n *procNode) startLoad(writers int, timeout, pause time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	n.load.stop = cancel
	for w := range writers {
		n.load.wg.Go(func() {
			for seq := int64(1); ctx.Err() == nil; seq++ {
				batch := n.id<<40 | int64(w)<<32 | seq
				mctx, mcancel := context.WithTimeout(ctx, timeout)
				ts, err := n.db.MutationTS(mctx, func(m *livedb.MutationCtx) error {
					for part := range int64(procBatchParts) {
						if _, err := m.DB.Insert("parts", livedb.Doc{"batch": batch, "part": part}); err != nil {
							return err
						}
					}
					return nil
				})
				mcancel()
				switch {
				case err == nil:
					n.load.acked.Add(1)
					for old := n.load.maxTS.Load(); ts > old && !n.load.maxTS.CompareAndSwap(old, ts); old = n.load.maxTS.Load() {
					}
					proctest.Say("ins %d %d", batch, ts)
					if pause > 0 {
						select {
						case <-ctx.Done():
						case <-time.After(pause):
						}
					}
					continue
				case ctx.Err() != nil:
					proctest.Say("cut %d", batch) // stopped mid-commit: it may or may not have committed
					return
				case errors.Is(err, livedb.ErrUnavailable):
					proctest.Say("unavailable %d", batch)
				case errors.Is(err, livedb.ErrOutcomeUnknown):
					proctest.Say("unknown %d", batch)
				case errors.Is(err, context.DeadlineExceeded):
					proctest.Say("timeout %d", batch)
				default:
					proctest.Fail("load: batch %d: %v", batch, err)
					return
				}
				n.load.errors.Add(1)
				select { // the server is away: do not spin
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
}

// verify catches up with ts and checks that every batch in the database
// is whole and that every batch the parent told of (now or before) is
// there. It says "verified <batches> <parts>".
func (n *procNode) verify(ts uint64, batches []int64) error {
	for _, b := range batches {
		n.verified[b] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), procWait)
	defer cancel()
	if err := n.db.CatchUp(ctx, ts); err != nil {
		return fmt.Errorf("CatchUp(%d): %w", ts, err)
	}
	parts, err := livedb.QueryValue(ctx, n.db, func(q *livedb.QueryCtx) ([]livedb.Doc, error) {
		return q.DB.Query("parts").Collect()
	})
	if err != nil {
		return err
	}
	got := map[int64][]int64{}
	for _, d := range parts {
		b := d["batch"].(int64)
		got[b] = append(got[b], d["part"].(int64))
	}
	for b, ps := range got {
		slices.Sort(ps)
		if len(ps) != procBatchParts || ps[0] != 0 || ps[len(ps)-1] != procBatchParts-1 {
			return fmt.Errorf("batch %d is partly visible: parts %v", b, ps)
		}
	}
	var lost []int64
	for b := range n.verified {
		if got[b] == nil {
			lost = append(lost, b)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		return fmt.Errorf("%d acknowledged batches are lost after catching up with %d: %v", len(lost), ts, lost)
	}
	proctest.Say("verified %d %d", len(got), len(parts))
	return nil
}

// fill inserts count items, chunk per mutation, and says "filled <ts>".
func (n *procNode) fill(count, chunk int) error {
	var ts uint64
	for i := 0; i < count; i += chunk {
		var err error
		ts, err = n.db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
			for j := i; j < min(i+chunk, count); j++ {
				if _, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(j % 7), "n": int64(j)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	proctest.Say("filled %d", ts)
	return nil
}

// digest catches up with ts and says "digest <last ts> <items> <parts>
// <hash>", the hash covering every item and part in index order, a
// bucket's items by (bucket, n), and two pages of a paginated query.
func (n *procNode) digest(ts uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), procWait)
	defer cancel()
	if err := n.db.CatchUp(ctx, ts); err != nil {
		return fmt.Errorf("CatchUp(%d): %w", ts, err)
	}
	return n.db.Query(ctx, func(q *livedb.QueryCtx) error {
		h := sha256.New()
		add := func(docs []livedb.Doc) {
			for _, d := range docs {
				fmt.Fprintf(h, "%s %v %v %v %v|", d.ID(), d["_creationTime"], d["bucket"], d["n"], d["batch"])
			}
		}
		items, err := q.DB.Query("items").WithIndex("by_bucket", nil).Collect()
		if err != nil {
			return err
		}
		add(items)
		parts, err := q.DB.Query("parts").WithIndex("by_batch", nil).Order(livedb.Desc).Collect()
		if err != nil {
			return err
		}
		add(parts)
		b3, err := q.DB.Query("items").WithIndex("by_bucket_n", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("bucket", int64(3)).Gte("n", int64(500))
		}).Take(100)
		if err != nil {
			return err
		}
		add(b3)
		cursor := ""
		for range 2 {
			page, err := q.DB.Query("items").WithIndex("by_bucket", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("bucket", int64(5))
			}).Order(livedb.Desc).Paginate(livedb.PaginationOptions{NumItems: 50, Cursor: cursor})
			if err != nil {
				return err
			}
			add(page.Page)
			fmt.Fprintf(h, "%v|", page.IsDone)
			cursor = page.ContinueCursor
		}
		proctest.Say("digest %d %d %d %s", q.DB.Timestamp(), len(items), len(parts), hex.EncodeToString(h.Sum(nil))[:16])
		return nil
	})
}
