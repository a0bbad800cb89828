package livedb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// pubPageArgs are the arguments of pubPage.
type pubPageArgs struct {
	PaginationOpts livedb.PaginationOptions `json:"paginationOpts"`
}

// pubPage pages through the workflows, as a Convex client's paginated
// query would.
var pubPage = livedb.NewQuery(livedb.FunctionDef[pubPageArgs, livedb.PaginationResult[livedb.Doc]]{
	Name: "workflows:page",
	Args: v.Object(v.Fields{"paginationOpts": v.PaginationOpts()}),
}, func(q *livedb.QueryCtx, a pubPageArgs) (livedb.PaginationResult[livedb.Doc], error) {
	return q.DB.Query("workflows").Paginate(a.PaginationOpts)
})

var pubPanics = livedb.NewQuery(livedb.FunctionDef[struct{}, int]{Name: "workflows:panics"},
	func(q *livedb.QueryCtx, _ struct{}) (int, error) { panic("query bug") })

var pubPanicsAfterWrite = livedb.NewMutation(livedb.FunctionDef[struct{}, int]{Name: "workflows:writeThenPanic"},
	func(m *livedb.MutationCtx, _ struct{}) (int, error) {
		if _, err := m.DB.Insert("workflows", livedb.Doc{"task": "half", "status": "pending"}); err != nil {
			return 0, err
		}
		panic("mutation bug")
	})

var pubSecret = livedb.NewQuery(livedb.FunctionDef[struct{}, int]{Name: "workflows:secret", Internal: true},
	func(q *livedb.QueryCtx, _ struct{}) (int, error) { return 42, nil })

func pubMustRegistry(t *testing.T) *livedb.Registry {
	t.Helper()
	reg, err := livedb.NewRegistry(fnInsertWorkflow, fnCountWorkflows, pubPage, pubPanics, pubPanicsAfterWrite, pubSecret)
	require.NoError(t, err)
	return reg
}

func TestRegistry_QueryPublic_RefusesOtherKindsAndInternal(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	ctx := context.Background()
	_, _, err := reg.QueryPublic(ctx, db, "workflows:insert", livedb.Doc{"task": "t", "status": "pending"})
	assert.ErrorIs(t, err, livedb.ErrWrongFunctionKind)
	assert.ErrorContains(t, err, "trying to execute workflows:insert as Query, but it is defined as Mutation")
	_, _, err = reg.MutatePublic(ctx, db, "workflows:count", livedb.Doc{})
	assert.ErrorIs(t, err, livedb.ErrWrongFunctionKind)
	_, _, err = reg.QueryPublic(ctx, db, "workflows:secret", livedb.Doc{})
	assert.ErrorIs(t, err, livedb.ErrInternalFunction)
	_, err = reg.SubscribePublic(ctx, db, "workflows:secret", livedb.Doc{}, nil, func(livedb.PublicUpdate) {})
	assert.ErrorIs(t, err, livedb.ErrInternalFunction)
	assert.Empty(t, mustCollect(t, db, "workflows"), "a refused mutation wrote nothing")
}

func TestRegistry_MutatePublic_ValueAndTimestamp(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	ctx := context.Background()
	x, ts, err := reg.MutatePublic(ctx, db, "workflows:insert", livedb.Doc{"task": "ship", "status": "pending"})
	require.NoError(t, err)
	id, ok := x.(string)
	require.True(t, ok, "an ID travels as a string, got %T", x)
	assert.Equal(t, db.LastTimestamp(), ts, "the commit's timestamp")

	// The returns validator decides the wire type: a Go int declared
	// v.Float64() is a float64, as Convex would send a JS number.
	n, qts, err := reg.QueryPublic(ctx, db, "workflows:count", livedb.Doc{})
	require.NoError(t, err)
	assert.Equal(t, float64(1), n)
	assert.GreaterOrEqual(t, qts, ts, "the query read a snapshot with the mutation")
	docs := mustCollect(t, db, "workflows")
	require.Len(t, docs, 1)
	assert.Equal(t, livedb.ID(id), docs[0]["_id"])
}

func TestRegistry_MutatePublic_WrongArguments(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	_, _, err := reg.MutatePublic(context.Background(), db, "workflows:insert", livedb.Doc{"task": 7.0, "status": "pending"})
	var ae *livedb.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.ErrorContains(t, err, ".task")
	assert.Empty(t, mustCollect(t, db, "workflows"))
}

func TestRegistry_QueryPublic_PanicIsAnError(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	_, _, err := reg.QueryPublic(context.Background(), db, "workflows:panics", livedb.Doc{})
	assert.ErrorContains(t, err, "function workflows:panics panicked: query bug")
	_, err = reg.SubscribePublic(context.Background(), db, "workflows:panics", livedb.Doc{}, nil, func(u livedb.PublicUpdate) {
		assert.ErrorContains(t, u.Err, "panicked")
	})
	require.NoError(t, err, "a panicking query is a failed update, not a failed subscription")
}

func TestRegistry_MutatePublic_PanicWritesNothing(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	_, _, err := reg.MutatePublic(context.Background(), db, "workflows:writeThenPanic", livedb.Doc{})
	assert.ErrorContains(t, err, "function workflows:writeThenPanic panicked: mutation bug")
	assert.Empty(t, mustCollect(t, db, "workflows"))
}

// pubUpdates collects the updates of a public subscription on a channel
// large enough that the callback never blocks in these tests.
func pubUpdates() (chan livedb.PublicUpdate, func(livedb.PublicUpdate)) {
	ch := make(chan livedb.PublicUpdate, 64)
	return ch, func(u livedb.PublicUpdate) { ch <- u }
}

func TestRegistry_SubscribePublic_Updates(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		reg := pubMustRegistry(t)
		ch, onUpdate := pubUpdates()
		stop, err := reg.SubscribePublic(context.Background(), db, "workflows:count", livedb.Doc{}, nil, onUpdate)
		require.NoError(t, err)
		require.Len(t, ch, 1, "the first result is delivered before SubscribePublic returns")
		first := <-ch
		assert.Equal(t, float64(0), first.Value)

		_, ts, err := reg.MutatePublic(context.Background(), db, "workflows:insert", livedb.Doc{"task": "a", "status": "pending"})
		require.NoError(t, err)
		u := mustRecv(t, ch, testWait, "the count after an insert")
		require.NoError(t, u.Err)
		assert.Equal(t, float64(1), u.Value)
		assert.GreaterOrEqual(t, u.Timestamp, ts)

		stop()
		mustInsertWorkflow(t, db, "b", "pending")
		_, err = db.WaitSubscriptions(boundedCtx(t), db.LastTimestamp())
		require.NoError(t, err)
		assert.Empty(t, ch, "no update after stop")
	})
}

func TestRegistry_SubscribePublic_JournalKeepsPageEnd(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	ids := []livedb.ID{
		mustInsertWorkflow(t, db, "a", "pending"),
		mustInsertWorkflow(t, db, "b", "pending"),
		mustInsertWorkflow(t, db, "c", "pending"),
	}
	args := livedb.Doc{"paginationOpts": map[string]any{"numItems": 2.0, "cursor": nil}}
	ch, onUpdate := pubUpdates()
	stop, err := reg.SubscribePublic(context.Background(), db, "workflows:page", args, nil, onUpdate)
	require.NoError(t, err)
	first := <-ch
	stop()
	require.NoError(t, first.Err)
	require.Len(t, first.Journal, 1, "one Paginate call, one page end")
	assert.Len(t, pageOf(t, first.Value), 2)

	mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[1]) })

	// With the journal, the page still ends after b: it holds a alone.
	ch, onUpdate = pubUpdates()
	stop, err = reg.SubscribePublic(context.Background(), db, "workflows:page", args, first.Journal, onUpdate)
	require.NoError(t, err)
	again := <-ch
	stop()
	require.NoError(t, again.Err)
	assert.Equal(t, []string{"a"}, tasksOf(t, again.Value))
	assert.Equal(t, first.Journal, again.Journal)

	// Without it, a new page of two runs on to c.
	ch, onUpdate = pubUpdates()
	stop, err = reg.SubscribePublic(context.Background(), db, "workflows:page", args, nil, onUpdate)
	require.NoError(t, err)
	fresh := <-ch
	stop()
	assert.Equal(t, []string{"a", "c"}, tasksOf(t, fresh.Value))
}

func TestRegistry_SubscribePublic_ForgedJournal(t *testing.T) {
	db := fnMustOpenMemory(t)
	reg := pubMustRegistry(t)
	args := livedb.Doc{"paginationOpts": map[string]any{"numItems": 2.0, "cursor": nil}}
	ch, onUpdate := pubUpdates()
	stop, err := reg.SubscribePublic(context.Background(), db, "workflows:page", args, []string{"AQEAAAAAAAAAAAAAAAAAAAAAAAAA"}, onUpdate)
	require.NoError(t, err)
	defer stop()
	u := <-ch
	assert.ErrorIs(t, u.Err, livedb.ErrInvalidCursor)
}

// pageOf returns the page of a PaginationResult in its Convex-value form.
func pageOf(t *testing.T, x any) []any {
	t.Helper()
	m, ok := x.(map[string]any)
	require.True(t, ok, "a PaginationResult travels as an object, got %T", x)
	for _, k := range []string{"page", "isDone", "continueCursor"} {
		require.Contains(t, m, k, "Convex's PaginationResult fields")
	}
	page, ok := m["page"].([]any)
	require.True(t, ok, "page is an array, got %T", m["page"])
	return page
}

func tasksOf(t *testing.T, x any) []string {
	t.Helper()
	var out []string
	for _, d := range pageOf(t, x) {
		out = append(out, d.(map[string]any)["task"].(string))
	}
	return out
}

func TestDB_WaitSubscriptions_ResultsDeliveredFirst(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
			docs, err := q.DB.Query("workflows").Collect()
			return len(docs), err
		})
		require.NoError(t, err)
		defer sub.Close()
		<-sub.Updates()
		for i := range 20 {
			ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending"})
				return err
			})
			require.NoError(t, err)
			mark, err := db.WaitSubscriptions(boundedCtx(t), ts)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, mark, ts)
			// The update is there already: no waiting.
			select {
			case u := <-sub.Updates():
				assert.Equal(t, i+1, u.Value)
				assert.GreaterOrEqual(t, u.Timestamp, ts)
			default:
				t.Fatalf("commit %d: WaitSubscriptions returned before the subscription's update was delivered", i)
			}
		}
	})
}

func TestDB_WaitSubscriptions_WithoutSubscriptions(t *testing.T) {
	db := fnMustOpenMemory(t)
	mustInsertWorkflow(t, db, "a", "pending")
	ts := db.LastTimestamp()
	mark, err := db.WaitSubscriptions(boundedCtx(t), ts)
	require.NoError(t, err, "a commit with nothing to re-run is caught up at once")
	assert.GreaterOrEqual(t, mark, ts)
	now, err := db.WaitSubscriptions(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, mark, now)
}

func TestDB_WaitSubscriptions_EndsWithContextAndClose(t *testing.T) {
	db, err := livedb.OpenMemory(agentSchema())
	require.NoError(t, err)
	future := db.LastTimestamp() + 1<<40
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = db.WaitSubscriptions(ctx, future)
	assert.ErrorIs(t, err, context.Canceled)

	done := make(chan error, 1)
	go func() {
		_, err := db.WaitSubscriptions(context.Background(), future)
		done <- err
	}()
	require.NoError(t, db.Close())
	err = mustRecv(t, done, testWait, "WaitSubscriptions to end with Close")
	assert.True(t, errors.Is(err, livedb.ErrClosed), "got %v", err)
}
