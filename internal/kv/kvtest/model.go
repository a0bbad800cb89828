package kvtest

import (
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
)

// SeedEnv names the environment variable that fixes the seed of the
// randomized model test, to replay a failure: LIVEDB_KV_SEED=1234 go test.
const SeedEnv = "LIVEDB_KV_SEED"

// model is the reference store: a plain map, sorted on demand.
type model map[string]string

// scan returns the entries of [start, end) of m in key order; "" is a nil
// bound.
func (m model) scan(start, end string, reverse bool) []pair {
	keys := slices.Sorted(maps.Keys(m))
	var out []pair
	for _, k := range keys {
		if (start == "" || k >= start) && (end == "" || k < end) {
			out = append(out, pair{k, m[k]})
		}
	}
	if reverse {
		return reversed(out)
	}
	return out
}

// modelSnapshot is an open snapshot of the store with the model as it was
// when the snapshot was taken.
type modelSnapshot struct {
	sn   kv.Snapshot
	m    model
	step int
}

// randomKey draws a key of 1 to 3 bytes over an alphabet with the edge
// bytes, so that the keys collide often and sort around 0x00 and 0xFF.
func randomKey(rng *rand.Rand) string {
	const alphabet = "\x00\x01ab\xfe\xff"
	b := make([]byte, 1+rng.IntN(3))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// randomBound is a nil bound ("") a quarter of the time, else a random key.
func randomBound(rng *rand.Rand) string {
	if rng.IntN(4) == 0 {
		return ""
	}
	return randomKey(rng)
}

func seed(t *testing.T) uint64 {
	t.Helper()
	if env := os.Getenv(SeedEnv); env != "" {
		n, err := strconv.ParseUint(env, 10, 64)
		noErr(t, err, "%s=%q", SeedEnv, env)
		return n
	}
	return uint64(time.Now().UnixNano())
}

// testRandomModel applies random batches to the store and to a model, keeps
// a few snapshots open across commits, and checks random reads of every
// open snapshot against the model of its time (repeatable reads).
func testRandomModel(t *testing.T, s kv.Store) {
	sd := seed(t)
	t.Logf("seed %d (set %s=%d to replay)", sd, SeedEnv, sd)
	rng := rand.New(rand.NewPCG(sd, sd>>1|1))
	cur := model{}
	var open []modelSnapshot
	defer func() {
		for _, o := range open {
			o.sn.Release()
		}
	}()

	const steps = 600
	for step := 0; step < steps; step++ {
		switch r := rng.IntN(20); {
		case r < 8:
			randomCommit(t, s, rng, cur, step)
		case r < 10 && len(open) < 4:
			sn, err := s.Snapshot()
			noErr(t, err, "step %d: snapshot", step)
			open = append(open, modelSnapshot{sn, maps.Clone(cur), step})
		case r < 11 && len(open) > 0:
			i := rng.IntN(len(open))
			open[i].sn.Release()
			open = slices.Delete(open, i, i+1)
		case len(open) > 0:
			o := open[rng.IntN(len(open))]
			checkRandomReads(t, rng, o, step)
		}
	}
	sn := mustSnapshot(t, s)
	samePairs(t, scan(t, sn, "", "", false), cur.scan("", "", false), "final state")
}

// randomCommit commits a random batch, and applies it to m when it is
// valid. One batch in ten carries an empty key and must fail as a whole.
func randomCommit(t *testing.T, s kv.Store, rng *rand.Rand, m model, step int) {
	t.Helper()
	var b kv.Batch
	n := 1 + rng.IntN(8)
	invalid := rng.IntN(10) == 0
	for i := 0; i < n; i++ {
		k := randomKey(rng)
		if rng.IntN(3) == 0 {
			b.Delete([]byte(k))
		} else {
			b.Put([]byte(k), []byte(strconv.Itoa(step*10+i)))
		}
	}
	if invalid {
		b.Put(nil, []byte("x"))
		someErr(t, s.Commit(&b), "step %d: batch with an empty key", step)
		return
	}
	noErr(t, s.Commit(&b), "step %d: commit", step)
	for _, op := range b.Ops {
		if op.Delete {
			delete(m, string(op.Key))
		} else {
			m[string(op.Key)] = string(op.Value)
		}
	}
}

// checkRandomReads compares a few random Gets and one random range of the
// snapshot with its model.
func checkRandomReads(t *testing.T, rng *rand.Rand, o modelSnapshot, step int) {
	t.Helper()
	for i := 0; i < 3; i++ {
		k := randomKey(rng)
		want, wantOK := o.m[k]
		got, ok := get(t, o.sn, k)
		check(t, ok == wantOK && got == want, "step %d: Get(%q) on the snapshot of step %d = %q, %v; want %q, %v",
			step, k, o.step, got, ok, want, wantOK)
	}
	start, end := randomBound(rng), randomBound(rng)
	reverse := rng.IntN(2) == 0
	samePairs(t, scan(t, o.sn, start, end, reverse), o.m.scan(start, end, reverse),
		"step %d: Iter(%q, %q, reverse=%v) on the snapshot of step %d", step, start, end, reverse, o.step)
}
