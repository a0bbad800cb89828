package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// The history check of TestDB_Mutation_HistoryIsSerializable, extended to
// the edges of OCC read sets: concurrent mutations read with Get, First,
// Take, Collect and one or two Paginate pages (both orders, on two
// indexes), and write inserts, patches that move a document to another key
// of one index (n) or of both (bucket) or of none (note), and deletes,
// reading their own writes in between. Every committed mutation records what each read returned. After
// the run the mutations are replayed in commit-timestamp order against a
// model (read-only ones at their snapshot's timestamp): every read must
// return what the model holds at that point, and the model must end as the
// database does. That is, the timestamp order is a serial order that
// explains every read.
//
// The seed is logged (LIVEDB_SEED replays it); the interleaving of the
// writers is up to the scheduler, so a replay makes the same choices but
// not necessarily the same history.

const (
	hBuckets = 3
	hNs      = 8 // n takes values 0 .. hNs-1
)

// hRow is a document as a read saw it.
type hRow struct {
	id        livedb.ID
	bucket, n int64
	note      string // "" when the document has none
}

func (r hRow) String() string {
	return fmt.Sprintf("%s{b%d n%d %q}", r.id[len(r.id)-6:], r.bucket, r.n, r.note)
}

// hOp is one read or write of a committed mutation, with what a read saw.
type hOp struct {
	kind   string // get, first, take, collect, page; insert, patch, note, move, delete
	id     livedb.ID
	bucket int64  // read: the bucket read; insert, move: the new bucket
	n      int64  // take: the lower bound of n; insert, patch: the new n
	note   string // note: the new note
	k      int    // take, page: how many
	desc   bool
	pages  int // page: 1 or 2

	found bool   // get
	seen  []hRow // what the read returned (page: both pages)
	done  []bool // page: IsDone of each page
	ct    float64
}

func (op hOp) String() string {
	o := "asc"
	if op.desc {
		o = "desc"
	}
	switch op.kind {
	case "get":
		return fmt.Sprintf("get %s -> found %v %v", op.id, op.found, op.seen)
	case "first", "collect":
		return fmt.Sprintf("%s b%d %s -> %v", op.kind, op.bucket, o, op.seen)
	case "take":
		return fmt.Sprintf("take %d b%d n>=%d %s -> %v", op.k, op.bucket, op.n, o, op.seen)
	case "page":
		return fmt.Sprintf("page %d x%d b%d %s -> %v done %v", op.k, op.pages, op.bucket, o, op.seen, op.done)
	case "insert":
		return fmt.Sprintf("insert %s b%d n%d", op.id, op.bucket, op.n)
	case "patch":
		return fmt.Sprintf("patch %s n%d", op.id, op.n)
	case "note":
		return fmt.Sprintf("note %s %q", op.id, op.note)
	case "move":
		return fmt.Sprintf("move %s to b%d", op.id, op.bucket)
	}
	return fmt.Sprintf("%s %s", op.kind, op.id)
}

// hRec is one committed mutation.
type hRec struct {
	ts     uint64
	writer int
	seq    int
	wrote  bool
	ops    []hOp
}

// hDoc is a document in the model.
type hDoc struct {
	bucket, n int64
	note      string
	ct        float64
}

// hModel is the database's items as the replay knows them.
type hModel map[livedb.ID]hDoc

// rows returns the documents of bucket b in the order of by_bucket
// (bucket, _creationTime, _id) or, when minN is set, those with n >= *minN
// in the order of by_bucket_n (bucket, n, _creationTime, _id); reversed
// for desc. The order is the reference order, not the engine's.
func (m hModel) rows(b int64, minN *int64, desc bool) []hRow {
	type keyed struct {
		key []any
		row hRow
	}
	var ks []keyed
	for id, d := range m {
		if d.bucket != b || minN != nil && d.n < *minN {
			continue
		}
		key := []any{d.ct, string(id)}
		if minN != nil {
			key = []any{d.n, d.ct, string(id)}
		}
		ks = append(ks, keyed{key, hRow{id, d.bucket, d.n, d.note}})
	}
	slices.SortFunc(ks, func(x, y keyed) int { return refCompare(x.key, y.key) })
	out := make([]hRow, len(ks))
	for i, k := range ks {
		out[i] = k.row
	}
	if desc {
		slices.Reverse(out)
	}
	return out
}

// apply replays op on the model: a read must see what the model holds.
func (m hModel) apply(op hOp) error {
	want := func(rows []hRow) error {
		if !slices.Equal(op.seen, rows) {
			return fmt.Errorf("read %v, the model has %v", op.seen, rows)
		}
		return nil
	}
	switch op.kind {
	case "get":
		d, ok := m[op.id]
		if ok != op.found {
			return fmt.Errorf("found = %v, the model has it: %v", op.found, ok)
		}
		if ok {
			return want([]hRow{{op.id, d.bucket, d.n, d.note}})
		}
		return nil
	case "first":
		rows := m.rows(op.bucket, nil, op.desc)
		return want(rows[:min(1, len(rows))])
	case "take":
		rows := m.rows(op.bucket, &op.n, op.desc)
		return want(rows[:min(op.k, len(rows))])
	case "collect":
		return want(m.rows(op.bucket, nil, op.desc))
	case "page":
		rows := m.rows(op.bucket, nil, op.desc)
		page := rows[:min(op.k, len(rows))]
		done := []bool{len(rows) < op.k}
		if op.pages == 2 {
			rest := rows[len(page):]
			if done[0] {
				rest = nil // the continue cursor is the end
			}
			page = append(slices.Clone(page), rest[:min(op.k, len(rest))]...)
			done = append(done, len(rest) < op.k)
		}
		if !slices.Equal(op.done, done) {
			return fmt.Errorf("IsDone %v, the model says %v (pages %v)", op.done, done, page)
		}
		return want(page)
	case "insert":
		if _, ok := m[op.id]; ok {
			return fmt.Errorf("inserted an ID that exists")
		}
		m[op.id] = hDoc{bucket: op.bucket, n: op.n, ct: op.ct}
		return nil
	}
	d, ok := m[op.id]
	if !ok {
		return fmt.Errorf("wrote a document the model does not have (a write based on a stale read)")
	}
	switch op.kind {
	case "patch":
		d.n = op.n
	case "note":
		d.note = op.note
	case "move":
		d.bucket = op.bucket
	case "delete":
		delete(m, op.id)
		return nil
	}
	m[op.id] = d
	return nil
}

// hPool is every ID committed so far, for Gets (deleted ones included).
type hPool struct {
	mu  sync.Mutex
	ids []livedb.ID
}

func (p *hPool) add(ids ...livedb.ID) {
	p.mu.Lock()
	p.ids = append(p.ids, ids...)
	p.mu.Unlock()
}

func (p *hPool) pick(rng *rand.Rand) livedb.ID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[rng.IntN(len(p.ids))]
}

// hRows converts documents read to rows.
func hRows(docs []livedb.Doc) ([]hRow, error) {
	out := make([]hRow, len(docs))
	for i, d := range docs {
		b, okB := d["bucket"].(int64)
		n, okN := d["n"].(int64)
		note, okNote := d["note"].(string)
		if !okB || !okN || !okNote && d["note"] != nil {
			return nil, fmt.Errorf("document %v has bucket %T, n %T and note %T", d, d["bucket"], d["n"], d["note"])
		}
		out[i] = hRow{d.ID(), b, n, note}
	}
	return out, nil
}

// seePage appends a page's rows to op.seen.
func seePage(op *hOp, res livedb.PaginationResult[livedb.Doc]) error {
	rows, err := hRows(res.Page)
	op.seen = append(op.seen, rows...)
	return err
}

// hMutation runs one attempt of a random mutation: up to five steps, each a
// read or a write of a document the mutation has seen (and not deleted).
// It fills ops with what it did and saw.
func hMutation(m *livedb.MutationCtx, rng *rand.Rand, pool *hPool, ops *[]hOp) error {
	w := m.DB
	alive := map[livedb.ID]hRow{} // documents seen and not deleted, as now
	see := func(rows []hRow) {
		for _, r := range rows {
			alive[r.id] = r
		}
	}
	bucket := func(ir livedb.IndexRange, b int64) livedb.IndexRange { return ir.Eq("bucket", b) }
	order := func(desc bool) livedb.Order {
		if desc {
			return livedb.Desc
		}
		return livedb.Asc
	}
	for range 1 + rng.IntN(5) {
		op := hOp{bucket: rng.Int64N(hBuckets), desc: rng.IntN(2) == 0}
		var err error
		byBucket := w.Query("items").WithIndex("by_bucket", func(ir livedb.IndexRange) livedb.IndexRange { return bucket(ir, op.bucket) }).Order(order(op.desc))
		var targets []livedb.ID
		for id := range alive {
			targets = append(targets, id)
		}
		slices.Sort(targets)                       // map order is random: keep the seed's choices
		if len(targets) == 0 || rng.IntN(5) >= 2 { // a write needs a document seen
			switch rng.IntN(6) {
			case 0:
				op.kind, op.id = "get", pool.pick(rng)
				var d livedb.Doc
				var ok bool
				d, ok, err = w.Get(op.id)
				op.found = ok
				if ok {
					op.seen, err = hRows([]livedb.Doc{d})
				}
			case 1:
				op.kind = "first"
				var d livedb.Doc
				var ok bool
				d, ok, err = byBucket.First()
				if ok {
					op.seen, err = hRows([]livedb.Doc{d})
				}
			case 2:
				op.kind, op.k, op.n = "take", 1+rng.IntN(3), rng.Int64N(hNs)
				var docs []livedb.Doc
				docs, err = w.Query("items").WithIndex("by_bucket_n", func(ir livedb.IndexRange) livedb.IndexRange {
					return bucket(ir, op.bucket).Gte("n", op.n)
				}).Order(order(op.desc)).Take(op.k)
				if err == nil {
					op.seen, err = hRows(docs)
				}
			case 3:
				op.kind = "collect"
				var docs []livedb.Doc
				docs, err = byBucket.Collect()
				if err == nil {
					op.seen, err = hRows(docs)
				}
			default:
				op.kind, op.k, op.pages = "page", 1+rng.IntN(3), 1+rng.IntN(2)
				var res livedb.PaginationResult[livedb.Doc]
				res, err = byBucket.Paginate(livedb.PaginationOptions{NumItems: op.k})
				if err == nil {
					op.seen, op.done = nil, []bool{res.IsDone}
					err = seePage(&op, res)
				}
				if err == nil && op.pages == 2 {
					q := w.Query("items").WithIndex("by_bucket", func(ir livedb.IndexRange) livedb.IndexRange { return bucket(ir, op.bucket) }).Order(order(op.desc))
					res, err = q.Paginate(livedb.PaginationOptions{NumItems: op.k, Cursor: res.ContinueCursor})
					if err == nil {
						op.done = append(op.done, res.IsDone)
						err = seePage(&op, res)
					}
				}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", op.kind, err)
			}
			see(op.seen)
			*ops = append(*ops, op)
			continue
		}
		op.id = targets[rng.IntN(len(targets))]
		cur := alive[op.id]
		switch rng.IntN(5) {
		case 0:
			op.kind, op.n = "insert", rng.Int64N(hNs)
			op.id, err = w.Insert("items", livedb.Doc{"bucket": op.bucket, "n": op.n})
			if err == nil {
				var d livedb.Doc
				d, _, err = w.Get(op.id)
				if err == nil {
					op.ct = d.CreationTime()
					alive[op.id] = hRow{id: op.id, bucket: op.bucket, n: op.n}
				}
			}
		case 1:
			op.kind, op.n = "patch", rng.Int64N(hNs) // moves the by_bucket_n key
			err = w.Patch(op.id, livedb.Doc{"n": op.n})
			cur.n = op.n
			alive[op.id] = cur
		case 2:
			op.kind, op.note = "note", fmt.Sprint(rng.IntN(1000)) // moves no key but by_id's and by_creation_time's, which stay
			err = w.Patch(op.id, livedb.Doc{"note": op.note})
			cur.note = op.note
			alive[op.id] = cur
		case 3:
			op.kind, op.bucket = "move", (cur.bucket+1+rng.Int64N(hBuckets-1))%hBuckets // moves both keys
			err = w.Patch(op.id, livedb.Doc{"bucket": op.bucket})
			cur.bucket = op.bucket
			alive[op.id] = cur
		default:
			op.kind = "delete"
			err = w.Delete(op.id)
			delete(alive, op.id)
		}
		if err != nil {
			return fmt.Errorf("%v: %w", op, err)
		}
		*ops = append(*ops, op)
	}
	return nil
}

func TestDB_Mutation_HistoryWithRangeReadsIsSerializable(t *testing.T) {
	writers, each := 8, 40
	if rxLong() {
		writers, each = 16, 300
	}
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		s1, s2 := rxSeed(t)
		rng := rand.New(rand.NewPCG(s1, s2))
		model := hModel{}
		pool := &hPool{}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 4 * hBuckets {
				if _, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(i % hBuckets), "n": rng.Int64N(hNs)}); err != nil {
					return err
				}
			}
			return nil
		})
		for _, d := range mustCollect(t, db, "items") {
			model[d.ID()] = hDoc{bucket: rxInt(t, d, "bucket"), n: rxInt(t, d, "n"), ct: d.CreationTime()}
			pool.add(d.ID())
		}

		var mu sync.Mutex
		var recs []hRec
		var attempts atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(s1, s2+1+uint64(w)))
				last := uint64(0)
				for seq := range each {
					var ops []hOp
					var snap uint64
					ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
						attempts.Add(1)
						ops, snap = ops[:0], m.DB.Timestamp() // the last attempt is the one committed
						return hMutation(m, rng, pool, &ops)
					})
					if err == nil && ts < last {
						err = fmt.Errorf("writer %d: mutation %d has timestamp %d, before its previous one's %d", w, seq, ts, last)
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d, mutation %d: %w", w, seq, err)
						return
					}
					last = ts
					// A mutation whose writes cancel out or change nothing
					// commits nothing and returns its snapshot's timestamp.
					rec := hRec{ts: ts, writer: w, seq: seq, wrote: ts != snap, ops: slices.Clone(ops)}
					for _, op := range ops {
						if op.kind == "insert" && rec.wrote {
							pool.add(op.id)
						}
					}
					mu.Lock()
					recs = append(recs, rec)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		// Commit timestamps are unique; a read-only mutation comes after
		// the commit its snapshot ends with.
		slices.SortStableFunc(recs, func(a, b hRec) int {
			if c := cmpU64(a.ts, b.ts); c != 0 {
				return c
			}
			if a.wrote != b.wrote {
				if a.wrote {
					return -1
				}
				return 1
			}
			return 0
		})
		kinds := map[string]int{}
		for i, rec := range recs {
			if i > 0 && rec.wrote && recs[i-1].wrote && recs[i-1].ts == rec.ts {
				t.Fatalf("two commits share timestamp %d", rec.ts)
			}
			for j, op := range rec.ops {
				kinds[op.kind]++
				if err := model.apply(op); err != nil {
					var b strings.Builder
					for k, o := range rec.ops {
						fmt.Fprintf(&b, "\n  %d: %v", k, o)
					}
					t.Fatalf("mutation %d of writer %d (ts %d), op %d (%v): %v\nits ops:%s", rec.seq, rec.writer, rec.ts, j, op, err, b.String())
				}
			}
		}
		final := hModel{}
		for _, d := range mustCollect(t, db, "items") {
			note, _ := d["note"].(string)
			final[d.ID()] = hDoc{rxInt(t, d, "bucket"), rxInt(t, d, "n"), note, d.CreationTime()}
		}
		require.Equal(t, model, final, "the database's final items differ from the replay's")
		t.Logf("%d mutations replayed after %d attempts (the others conflicted), ops: %v", len(recs), attempts.Load(), kinds)
	})
}
