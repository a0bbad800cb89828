package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/pgtest"
	"github.com/livedb-go/livedb/internal/proctest"
	"github.com/livedb-go/livedb/livedbtest"
)

// Tests with several real processes on one shared PostgreSQL database:
// the test binary runs itself as child processes (see
// shared_proc_child_test.go), every other one with its copy in a bbolt
// file, the others in memory.

// openParentNode opens the test process itself as one more process of
// the shared database dsn, with its copy in memory.
func openParentNode(t *testing.T, dsn string) *livedb.DB {
	t.Helper()
	db, err := livedb.Open(dsn, procSchema(), procOptions(""))
	require.NoError(t, err)
	t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
	return db
}

// startNodes starts n child processes of dsn at once and waits until each
// is ready.
func startNodes(t *testing.T, test string, n int, dsn string) []*proctest.Proc {
	t.Helper()
	nodes := make([]*proctest.Proc, n)
	for i := range nodes {
		nodes[i] = startNodeNoWait(t, test, i, dsn, nodeCopy(t, i))
	}
	for _, p := range nodes {
		p.Expect("ready", procWait)
	}
	return nodes
}

func stopNodes(t *testing.T, nodes []*proctest.Proc) {
	t.Helper()
	for _, p := range nodes {
		p.Stop(procWait)
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	x, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err, "a number in a child's line")
	return x
}

func atou(t *testing.T, s string) uint64 {
	t.Helper()
	x, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err, "a timestamp in a child's line")
	return x
}

// bankTx is one acknowledged transfer: what it read and wrote, at its
// commit timestamp.
type bankTx struct {
	proc, writer, seq int64
	ts                uint64
	from, to          int
	fromRead, toRead  int64
	amount            int64
}

// bankSnap is one snapshot a reader saw.
type bankSnap struct {
	proc int
	ts   uint64
	bal  []int64
}

// TestSharedProcess_Bank: 3 processes × 8 writers move amounts between
// accounts while a reader in each checks that every snapshot sums to the
// total. At the end every process holds the same balances, and the
// committed transfers have a serial order: replayed in timestamp order
// from the seed, each reads what the ones before it wrote, and each
// reader's snapshot is the replay's state at its timestamp.
func TestSharedProcess_Bank(t *testing.T) {
	if isProcChild(t) {
		return
	}
	const procs, writers, accounts, perAccount = 3, 8, 16, int64(1000)
	moves := 8
	if rxLong() {
		moves = 50
	}
	dsn := pgtest.Require(t).NewDatabase(t)
	parent := openParentNode(t, dsn)
	initial := make([]int64, accounts)
	seeded, err := parent.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
		for i := range initial {
			initial[i] = perAccount
			if _, err := m.DB.Insert("accounts", livedb.Doc{"owner": fmt.Sprintf("%02d", i), "balance": perAccount}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	nodes := startNodes(t, "TestSharedProcess_Bank", procs, dsn)
	for _, p := range nodes {
		p.Send("bank %d %d %d %d", writers, moves, seeded, accounts)
	}
	var txs []bankTx
	var snaps []bankSnap
	var maxTS uint64
	for i, p := range nodes {
		for {
			f := p.Next(procWait)
			if f[0] == "banked" {
				maxTS = max(maxTS, atou(t, f[1]))
				break
			}
			switch f[0] {
			case "tx":
				require.Len(t, f, 10, "tx line of %s", p.Name())
				txs = append(txs, bankTx{
					proc: atoi(t, f[1]), writer: atoi(t, f[2]), seq: atoi(t, f[3]), ts: atou(t, f[4]),
					from: int(atoi(t, f[5])), fromRead: atoi(t, f[6]), to: int(atoi(t, f[7])), toRead: atoi(t, f[8]), amount: atoi(t, f[9]),
				})
			case "snap":
				s := bankSnap{proc: i, ts: atou(t, f[1])}
				for _, x := range f[2:] {
					s.bal = append(s.bal, atoi(t, x))
				}
				snaps = append(snaps, s)
			default:
				t.Fatalf("%s said %v", p.Name(), f)
			}
		}
	}
	require.Len(t, txs, procs*writers*moves, "acknowledged transfers")

	// Every process ends with the same balances, which sum to the total,
	// and holds every transfer.
	var final []string
	for _, p := range nodes {
		p.Send("balances %d", maxTS)
		f := p.Expect("balances", procWait)
		require.Equal(t, strconv.Itoa(len(txs)), f[1], "%s: transfers held", p.Name())
		final = append(final, fmt.Sprint(f[2:]))
	}
	for i := range final {
		require.Equal(t, final[0], final[i], "balances of %s and %s", nodes[0].Name(), nodes[i].Name())
	}

	want := checkBankHistory(t, initial, seeded, txs, snaps)
	require.Equal(t, fmt.Sprint(strs(want)), final[0], "the balances of every process are those of the replay")
	var total int64
	for _, b := range want {
		total += b
	}
	require.Equal(t, accounts*perAccount, total)

	// The database holds exactly the acknowledged transfers, with what
	// each read: nothing committed that was not acknowledged.
	require.NoError(t, parent.CatchUp(boundedCtx(t), maxTS))
	stored, err := livedb.QueryValue(context.Background(), parent, func(q *livedb.QueryCtx) ([]livedb.Doc, error) {
		return q.DB.Query("transfers").Collect()
	})
	require.NoError(t, err)
	acked := map[[3]int64]bankTx{}
	for _, tx := range txs {
		acked[[3]int64{tx.proc, tx.writer, tx.seq}] = tx
	}
	require.Len(t, stored, len(acked))
	for _, d := range stored {
		tx, ok := acked[[3]int64{d["proc"].(int64), d["writer"].(int64), d["seq"].(int64)}]
		require.True(t, ok, "stored transfer %v was never acknowledged", d)
		require.Equal(t, []int64{tx.fromRead, tx.toRead, tx.amount}, []int64{d["fromRead"].(int64), d["toRead"].(int64), d["amount"].(int64)}, "transfer %v", d)
	}
	stopNodes(t, nodes)
	t.Logf("%d transfers from %d processes, %d snapshots checked", len(txs), procs, len(snaps))
}

func strs(xs []int64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.FormatInt(x, 10)
	}
	return out
}

// checkBankHistory replays the transfers in commit-timestamp order from
// the state at seeded: each must have read the balances the replay holds
// before it, and each snapshot must be the replay's state at its
// timestamp. It returns the final balances.
func checkBankHistory(t *testing.T, initial []int64, seeded uint64, txs []bankTx, snaps []bankSnap) []int64 {
	t.Helper()
	txs = slices.Clone(txs)
	slices.SortFunc(txs, func(a, b bankTx) int { return cmpU64(a.ts, b.ts) })
	snaps = slices.Clone(snaps)
	slices.SortFunc(snaps, func(a, b bankSnap) int { return cmpU64(a.ts, b.ts) })
	model := slices.Clone(initial)
	next := 0 // the first snapshot not checked yet
	checkSnaps := func(upTo uint64) {
		for ; next < len(snaps) && snaps[next].ts < upTo; next++ {
			s := snaps[next]
			if s.ts < seeded {
				t.Fatalf("process %d read a snapshot at %d, before the seed at %d", s.proc, s.ts, seeded)
			}
			if !slices.Equal(s.bal, model) {
				t.Fatalf("process %d's snapshot at %d is %v; the transfers committed up to then leave %v", s.proc, s.ts, s.bal, model)
			}
		}
	}
	for i, tx := range txs {
		if tx.ts <= seeded || i > 0 && tx.ts == txs[i-1].ts {
			t.Fatalf("transfer %d/%d/%d has timestamp %d (seed %d, previous %d): not a unique commit after the seed", tx.proc, tx.writer, tx.seq, tx.ts, seeded, txs[max(i-1, 0)].ts)
		}
		checkSnaps(tx.ts)
		if tx.fromRead != model[tx.from] || tx.toRead != model[tx.to] {
			t.Fatalf("transfer %d/%d/%d at %d read accounts %d=%d and %d=%d; the transfers before it left %d and %d (lost update or stale read)",
				tx.proc, tx.writer, tx.seq, tx.ts, tx.from, tx.fromRead, tx.to, tx.toRead, model[tx.from], model[tx.to])
		}
		model[tx.from] -= tx.amount
		model[tx.to] += tx.amount
	}
	checkSnaps(^uint64(0))
	return model
}

// TestSharedProcess_SubscriptionPrecision: a commit in one process re-runs
// exactly the subscriptions, in every process, whose read set it touched:
// each process watches every bucket and counts the runs of each query,
// and each insert into one bucket adds one run to that bucket's
// subscription in each process and none to the others. The inserting
// process hands its commit timestamp to the others, whose CatchUp then
// gives results that include the insert.
func TestSharedProcess_SubscriptionPrecision(t *testing.T) {
	if isProcChild(t) {
		return
	}
	dsn := pgtest.Require(t).NewDatabase(t)
	nodes := startNodes(t, "TestSharedProcess_SubscriptionPrecision", 3, dsn)
	for _, p := range nodes {
		p.Send("watch")
	}
	for _, p := range nodes {
		p.Expect("watching", procWait)
	}
	var model [procBuckets]map[livedb.ID]int64
	for b := range model {
		model[b] = map[livedb.ID]int64{}
	}
	wantRuns := make([][procBuckets]int64, len(nodes))
	for p := range wantRuns {
		for b := range procBuckets {
			wantRuns[p][b] = 1 // the first run
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for step := range 12 {
		writer := nodes[step%len(nodes)]
		b := rng.IntN(procBuckets)
		writer.Send("insert %d %d", b, step)
		f := writer.Expect("inserted", procWait)
		id, ts := livedb.ID(f[0]), atou(t, f[1])
		model[b][id] = int64(step)
		for p, node := range nodes {
			wantRuns[p][b]++
			node.Send("see %d %s %d", ts, id, b)
			f := node.Expect("seen", procWait)
			require.Equal(t, []string{"true", strconv.Itoa(step)}, f[:2], "step %d: %s after CatchUp(%d) sees the insert of %s", step, node.Name(), ts, writer.Name())
			for bb := range procBuckets {
				runs, updates, lastTS, value := f[2+4*bb], f[3+4*bb], atou(t, f[4+4*bb]), f[5+4*bb]
				require.Equal(t, strconv.FormatInt(wantRuns[p][bb], 10), runs,
					"step %d (insert into bucket %d by %s): runs of bucket %d's query in %s", step, b, writer.Name(), bb, node.Name())
				require.Equal(t, runs, updates, "step %d: every run of bucket %d in %s changed its result and was delivered", step, bb, node.Name())
				require.Equal(t, itemsString(model[bb]), value, "step %d: bucket %d's last result in %s", step, bb, node.Name())
				if bb == b {
					require.Equal(t, ts, lastTS, "step %d: the timestamp of bucket %d's update in %s", step, bb, node.Name())
				}
			}
		}
	}
	stopNodes(t, nodes)
}
