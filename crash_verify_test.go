package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/livedb-go/livedb"
)

// The crash harness's verification of one round: what changed since the
// previous round (see crash_test.go).

// verifyCrashRound reopens the file after a round and checks it: what
// changed since the previous round, and with full set, everything.
func verifyCrashRound(path string, h *crashHistory, acks *crashAcks, full bool, rng *rand.Rand) (err error) {
	db, err := livedb.Open(path, crashSchema(), crashOptions())
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	ctx := context.Background()
	touched, err := replayCrashChanges(db, h, acks)
	if err != nil {
		return err
	}
	if err := verifyCrashTouched(ctx, db, h, touched); err != nil {
		return err
	}
	if err := verifyCrashAcks(h, acks, touched); err != nil {
		return err
	}
	if err := verifyCrashSample(ctx, db, h, acks, rng); err != nil {
		return err
	}
	for id := range touched {
		if d, ok := h.docs[id]; ok {
			h.lastCreation = max(h.lastCreation, d.doc["_creationTime"].(float64))
		}
	}
	if full {
		return verifyCrashAll(ctx, db, h)
	}
	return nil
}

// replayCrashChanges reads the change feed after h.feedTS and applies it
// to h.docs. It checks that the feed goes forward, that each commit is one
// whole mutation, and that every commit the round acknowledged is there at
// its timestamp. It returns the documents the new changes touched.
func replayCrashChanges(db *livedb.DB, h *crashHistory, acks *crashAcks) (map[livedb.ID]string, error) {
	feed := db.Changes(h.feedTS)
	touched := map[livedb.ID]string{}
	byTS := map[uint64][]livedb.Change{}
	for {
		c, ok, err := feed.TryNext()
		if err != nil {
			return nil, fmt.Errorf("change feed after %d: %w", h.feedTS, err)
		}
		if !ok {
			break
		}
		if c.Timestamp < h.feedTS || c.Timestamp == h.feedTS && len(byTS[c.Timestamp]) == 0 {
			return nil, fmt.Errorf("change feed goes back in time: %d after %d", c.Timestamp, h.feedTS)
		}
		h.feedTS = c.Timestamp
		byTS[c.Timestamp] = append(byTS[c.Timestamp], c)
		touched[c.ID] = c.Table
		if err := applyCrashChange(h.docs, c); err != nil {
			return nil, err
		}
	}
	if last := db.LastTimestamp(); h.feedTS > last {
		return nil, fmt.Errorf("change feed has timestamp %d after the last commit %d", h.feedTS, last)
	}
	for ts, cs := range byTS {
		if err := crashCommitShape(cs); err != nil {
			return nil, fmt.Errorf("commit at %d: %w", ts, err)
		}
	}
	for b, ts := range acks.inserted {
		if batchOf(byTS[ts]) != b {
			return nil, fmt.Errorf("acknowledged insert of batch %d at %d is not in the change feed", b, ts)
		}
	}
	for b, ts := range acks.deleted {
		if cs := byTS[ts]; batchOf(cs) != b || cs[0].Op != "delete" {
			return nil, fmt.Errorf("acknowledged delete of batch %d at %d is not in the change feed", b, ts)
		}
	}
	return touched, nil
}

// applyCrashChange applies one change of the feed to a replayed state,
// checking that it starts from the state the replay has.
func applyCrashChange(state map[livedb.ID]crashDoc, c livedb.Change) error {
	switch c.Op {
	case "insert":
		if _, dup := state[c.ID]; dup {
			return fmt.Errorf("change feed inserts %s twice", c.ID)
		}
		state[c.ID] = crashDoc{c.Table, c.New}
	case "update":
		if !relDocsEqual(state[c.ID].doc, c.Old) {
			return fmt.Errorf("change feed updates %s from %v, but the replay has %v", c.ID, c.Old, state[c.ID].doc)
		}
		state[c.ID] = crashDoc{c.Table, c.New}
	case "delete":
		if !relDocsEqual(state[c.ID].doc, c.Old) {
			return fmt.Errorf("change feed deletes %s as %v, but the replay has %v", c.ID, c.Old, state[c.ID].doc)
		}
		delete(state, c.ID)
	}
	return nil
}

// verifyCrashTouched compares the stored state with the replay where the
// round changed it: every document the new changes touched; the documents
// created since the previous round, so that none is stored without its
// change; and the index entries of the batches and writers touched.
func verifyCrashTouched(ctx context.Context, db *livedb.DB, h *crashHistory, touched map[livedb.ID]string) error {
	batches, writers := map[int64]bool{}, map[int64]bool{}
	created := map[string]int{} // table -> replayed documents created since the previous round
	for id := range touched {
		d, ok := h.docs[id]
		if !ok {
			continue
		}
		writers[d.doc["writer"].(int64)] = true
		if d.table == "items" {
			batches[d.doc["batch"].(int64)] = true
		}
		if d.doc["_creationTime"].(float64) > h.lastCreation {
			created[d.table]++
		}
	}
	return db.Query(ctx, func(q *livedb.QueryCtx) error {
		for id := range touched {
			got, ok, err := q.DB.Get(id)
			if err != nil {
				return fmt.Errorf("get %s: %w", id, err)
			}
			if err := crashSame(id, got, ok, h); err != nil {
				return err
			}
		}
		for _, table := range []string{"items", "counters"} {
			docs, err := q.DB.Query(table).WithIndex("by_creation_time", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Gt("_creationTime", h.lastCreation)
			}).Collect()
			if err != nil {
				return err
			}
			if len(docs) != created[table] {
				return fmt.Errorf("%s: %d documents created since the previous round are stored, the change feed has %d", table, len(docs), created[table])
			}
			for _, d := range docs {
				if err := crashSame(d.ID(), d, true, h); err != nil {
					return err
				}
			}
		}
		for b := range batches {
			if err := crashIndexHolds(q, h, touched, "items", "by_batch", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("batch", b) },
				func(d crashDoc) bool { return d.table == "items" && d.doc["batch"].(int64) == b }); err != nil {
				return err
			}
		}
		for w := range writers {
			for _, table := range []string{"items", "counters"} {
				if err := crashIndexHolds(q, h, touched, table, "by_writer", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("writer", w) },
					func(d crashDoc) bool { return d.table == table && d.doc["writer"].(int64) == w }); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// crashSame checks a stored document (ok: present) against the replay.
func crashSame(id livedb.ID, got livedb.Doc, ok bool, h *crashHistory) error {
	want, inReplay := h.docs[id]
	switch {
	case ok && !inReplay:
		return fmt.Errorf("document %s is stored, but the change feed deleted it or never inserted it: %v", id, got)
	case !ok && inReplay:
		return fmt.Errorf("document %s is not stored, but the change feed replays it as %v", id, want.doc)
	case ok && !relDocsEqual(got, want.doc):
		return fmt.Errorf("document %s is %v, the change feed replays it as %v", id, got, want.doc)
	}
	return nil
}

// crashIndexHolds checks that an index range of table holds exactly the
// replayed documents that match. Only the touched documents are counted:
// the batches and writers of a round are its own, so every document that
// matches was touched in it.
func crashIndexHolds(q *livedb.QueryCtx, h *crashHistory, touched map[livedb.ID]string, table, index string, rng func(livedb.IndexRange) livedb.IndexRange, match func(crashDoc) bool) error {
	docs, err := q.DB.Query(table).WithIndex(index, rng).Collect()
	if err != nil {
		return err
	}
	for _, d := range docs {
		if r, ok := h.docs[d.ID()]; !ok || !match(r) {
			return fmt.Errorf("%s.%s %v holds %s, which the change feed does not replay there", table, index, rng(livedb.IndexRange{}), d.ID())
		}
	}
	want := 0
	for id := range touched {
		if d, ok := h.docs[id]; ok && match(d) {
			want++
		}
	}
	if len(docs) != want {
		return fmt.Errorf("%s.%s %v holds %d documents, the change feed replays %d", table, index, rng(livedb.IndexRange{}), len(docs), want)
	}
	return nil
}

// verifyCrashAcks checks the round's acknowledgements against the replay,
// which verifyCrashTouched found equal to the stored documents: each batch
// is whole or absent, each acknowledged insert is present unless a delete
// of it was tried, each acknowledged delete is gone, and each writer's
// counter moved with its batches.
func verifyCrashAcks(h *crashHistory, acks *crashAcks, touched map[livedb.ID]string) error {
	parts := map[int64][]int64{}
	counters := map[int64]livedb.Doc{}
	for id := range touched {
		d, ok := h.docs[id]
		switch {
		case !ok:
		case d.table == "items":
			b := d.doc["batch"].(int64)
			parts[b] = append(parts[b], d.doc["part"].(int64))
		case d.table == "counters":
			counters[d.doc["writer"].(int64)] = d.doc
		}
	}
	for b, ps := range parts {
		slices.Sort(ps)
		if !slices.Equal(ps, []int64{0, 1, 2}) {
			return fmt.Errorf("batch %d is partly visible: parts %v", b, ps)
		}
	}
	lastOf := map[int64]int64{} // writer -> highest batch acknowledged
	for b := range acks.inserted {
		_, present := parts[b]
		switch {
		case acks.deleted[b] != 0 && present:
			return fmt.Errorf("batch %d: its delete was acknowledged but it is present", b)
		case !acks.delStarted[b] && !present:
			return fmt.Errorf("acknowledged batch %d is lost", b)
		}
		w := b >> 32
		lastOf[w] = max(lastOf[w], b)
	}
	for w, last := range lastOf {
		c, ok := counters[w]
		if !ok {
			return fmt.Errorf("writer %d acknowledged batch %d but has no counter", w, last)
		}
		if err := crashCounterHolds(c, w, last); err != nil {
			return err
		}
	}
	return nil
}

// crashCounterHolds checks writer w's counter c, given the highest batch
// acknowledged for w.
func crashCounterHolds(c livedb.Doc, w, acked int64) error {
	last := c["last"].(int64)
	if last < acked {
		return fmt.Errorf("counter of writer %d says last batch %d, but batch %d was acknowledged", w, last, acked)
	}
	if last>>32 != w || last&0xffffffff != c["count"].(int64) {
		return fmt.Errorf("counter of writer %d is inconsistent: last %d count %d", w, last, c["count"].(int64))
	}
	return nil
}

// verifyCrashSample checks a random sample of the batches acknowledged in
// earlier rounds, which no later round touches: each is whole and as the
// replay has it, or gone when its delete was acknowledged.
func verifyCrashSample(ctx context.Context, db *livedb.DB, h *crashHistory, acks *crashAcks, rng *rand.Rand) error {
	older := h.batches[:len(h.batches)-len(acks.inserted)]
	if len(older) == 0 {
		return nil
	}
	return db.Query(ctx, func(q *livedb.QueryCtx) error {
		for range min(crashOldSample, len(older)) {
			b := older[rng.IntN(len(older))]
			docs, err := q.DB.Query("items").WithIndex("by_batch", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("batch", b)
			}).Collect()
			if err != nil {
				return err
			}
			switch n := len(docs); {
			case h.deleted[b] != 0 && n != 0:
				return fmt.Errorf("batch %d of an earlier round: its delete was acknowledged but %d documents are stored", b, n)
			case h.deleted[b] == 0 && n != crashBatchDocs && (n != 0 || !h.delStarted[b]):
				return fmt.Errorf("acknowledged batch %d of an earlier round has %d documents stored, want %d", b, n, crashBatchDocs)
			}
			for _, d := range docs {
				if err := crashSame(d.ID(), d, true, h); err != nil {
					return fmt.Errorf("batch %d of an earlier round: %w", b, err)
				}
			}
		}
		return nil
	})
}
