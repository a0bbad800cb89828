package remote

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/value"
)

// Backend is a database's public functions, called by name: a remote
// livedb server (a [*Client] from [Dial]) or an embedded database
// ([Local]). Code written against a Backend runs with either, so a
// program can choose by configuration:
//
//	var b remote.Backend
//	if url := os.Getenv("LIVEDB_URL"); url != "" {
//		b, err = remote.Dial(ctx, url, nil)
//	} else {
//		b = remote.Local(db, reg)
//	}
//
// Both see the same values and errors (see the package documentation). A
// Backend is safe for concurrent use by multiple goroutines.
type Backend interface {
	// Query runs the public query name with args and returns its result.
	Query(ctx context.Context, name string, args any) (any, error)
	// Mutation runs the public mutation name with args and returns its
	// result and commit timestamp: a subscription update with a
	// Timestamp at or after it reflects the mutation.
	Mutation(ctx context.Context, name string, args any) (result any, ts uint64, err error)
	// Subscribe subscribes to the public query name with args: the first
	// result is in the channel when Subscribe returns, and every later
	// result that differs follows. A name with no public query is an
	// error; a failing query is an update with Err, and the subscription
	// goes on. The subscription ends with ctx, its Close, or the
	// Backend's Close.
	Subscribe(ctx context.Context, name string, args any) (*Subscription, error)
	// Paginate runs a paginated query (one that takes Convex's
	// paginationOpts argument, see [livedb.PaginationOptions]) for one page:
	// args plus paginationOpts made of opts. Pass the result's
	// ContinueCursor as the next opts.Cursor.
	Paginate(ctx context.Context, name string, args any, opts livedb.PaginationOptions) (livedb.PaginationResult[livedb.Doc], error)
	// Close ends the Backend's subscriptions and, for a Client, its
	// connection. It does not close an embedded DB. Calls after Close
	// fail with ErrClosed.
	Close() error
}

// Update is one result of a [Subscription]: the query's value or error,
// read at Timestamp. Err is a *FunctionError when the query failed, and
// a *TransportError or *AuthError while the connection is lost (the
// subscription resumes by itself). Value is shared: read it, do not
// modify it.
type Update struct {
	Value     any
	Err       error
	Timestamp uint64
}

// Subscription delivers the newest result of a query. As with
// [livedb.Subscription], the channel holds at most one update and a newer
// one replaces an unread older one: a slow reader gets the newest result,
// never a queue. A Subscription is safe for concurrent use.
type Subscription struct {
	ch   chan Update
	mu   sync.Mutex // serialises sends and the close of ch
	done bool
	stop func() // ends the subscription at its Backend; set before it is shared
	once sync.Once
	// unwatch stops the watch of the Subscribe context; guarded by mu.
	unwatch func() bool
}

func newSubscription() *Subscription {
	return &Subscription{ch: make(chan Update, 1), stop: func() {}, unwatch: func() bool { return false }}
}

// Updates returns the channel of updates. It is closed when the
// subscription ends: by Close, by the end of the context given to
// Subscribe, or by the Backend's Close.
func (s *Subscription) Updates() <-chan Update { return s.ch }

// Close ends the subscription and closes its channel. It is idempotent.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		unwatch := s.unwatch
		s.mu.Unlock()
		unwatch()
		s.stop()
		s.closeCh()
	})
}

// watch closes s when ctx ends.
func (s *Subscription) watch(ctx context.Context) {
	stop := context.AfterFunc(ctx, s.Close)
	s.mu.Lock()
	s.unwatch = stop
	s.mu.Unlock()
}

// deliver hands u to the reader without blocking, replacing an unread
// update.
func (s *Subscription) deliver(u Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	for {
		select {
		case s.ch <- u:
			return
		default:
			select {
			case <-s.ch:
			default:
			}
		}
	}
}

func (s *Subscription) closeCh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done = true
		close(s.ch)
	}
}

// box carries a value in the one field of a document, for FromDoc.
type box[T any] struct {
	V T `json:"v"`
}

// Decode converts a result (a Convex value) into a T with the rules of
// [livedb.FromDoc]: a struct by its json field names, Float64 into Go
// integers when it is integral, an ID string into a [livedb.ID], and so
// on. A value that does not fit is an error that names where.
func Decode[T any](x any) (T, error) {
	b, err := livedb.FromDoc[box[T]](livedb.Doc{"v": x})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("remote: decode result as %T: %w", zero, err)
	}
	return b.V, nil
}

// QueryValue runs a query of b and decodes its result into a T (see
// [Decode]).
func QueryValue[T any](ctx context.Context, b Backend, name string, args any) (T, error) {
	x, err := b.Query(ctx, name, args)
	if err != nil {
		var zero T
		return zero, err
	}
	return Decode[T](x)
}

// MutationValue runs a mutation of b and decodes its result into a T (see
// [Decode]), with the commit timestamp.
func MutationValue[T any](ctx context.Context, b Backend, name string, args any) (T, uint64, error) {
	x, ts, err := b.Mutation(ctx, name, args)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	r, err := Decode[T](x)
	return r, ts, err
}

// callArgs converts a call's arguments to the Convex object they travel
// as: int64 stays an Int64, other Go integer kinds become Float64 (as a
// JavaScript number) when exact, and everything is in canonical form.
func callArgs(name string, args any) (map[string]any, error) {
	var doc map[string]any
	switch a := args.(type) {
	case nil:
		return map[string]any{}, nil
	case livedb.Doc:
		doc = a
	case map[string]any:
		doc = a
	default:
		d, err := livedb.ToDoc(args)
		if err != nil {
			return nil, fmt.Errorf("remote: arguments of %s: %w", name, err)
		}
		doc = d
	}
	x, err := value.Normalize(numbers(doc))
	if err != nil {
		return nil, fmt.Errorf("remote: arguments of %s: %w", name, err)
	}
	return x.(map[string]any), nil
}

// numbers returns x with Go integers other than int64 as float64 when
// float64 holds them exactly (beyond 2^53 they stay, and Normalize makes
// them Int64). Containers are copied only on the way.
func numbers(x any) any {
	switch t := x.(type) {
	case int64:
		return t
	case livedb.Doc:
		return numbers(map[string]any(t))
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = numbers(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = numbers(e)
		}
		return out
	}
	if i, ok := value.IsGoInt(x); ok && math.Abs(float64(i)) <= 1<<53 {
		return float64(i)
	}
	return x
}

// pageArgs adds Convex's paginationOpts made of opts to args.
func pageArgs(name string, args any, opts livedb.PaginationOptions) (map[string]any, error) {
	doc, err := callArgs(name, args)
	if err != nil {
		return nil, err
	}
	po := map[string]any{"numItems": float64(opts.NumItems), "cursor": nil}
	if opts.Cursor != "" {
		po["cursor"] = opts.Cursor
	}
	if opts.EndCursor != "" {
		po["endCursor"] = opts.EndCursor
	}
	if opts.MaximumRowsRead > 0 {
		po["maximumRowsRead"] = float64(opts.MaximumRowsRead)
	}
	if opts.MaximumBytesRead > 0 {
		po["maximumBytesRead"] = float64(opts.MaximumBytesRead)
	}
	doc["paginationOpts"] = po
	return doc, nil
}

// pageResult decodes a paginated query's result.
func pageResult(name string, x any) (livedb.PaginationResult[livedb.Doc], error) {
	if _, ok := x.(map[string]any); !ok {
		return livedb.PaginationResult[livedb.Doc]{}, fmt.Errorf("remote: the result of %s is not a page (an object with page, isDone and continueCursor) but %s", name, kindOf(x))
	}
	r, err := Decode[livedb.PaginationResult[livedb.Doc]](x)
	if err != nil {
		return r, fmt.Errorf("remote: the result of %s is not a page: %w", name, err)
	}
	return r, nil
}

// kindOf names the kind of a Convex value for an error message.
func kindOf(x any) string {
	k, ok := value.KindOf(x)
	if !ok {
		return fmt.Sprintf("%T", x)
	}
	return k.String()
}
