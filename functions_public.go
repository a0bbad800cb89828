package livedb

import (
	"context"
	"fmt"
)

// This file is the face a Registry shows a network server (package
// server), beside what functions_info.go describes: one-shot calls that
// return a commit or snapshot timestamp, and subscriptions by name whose
// results are Convex values and carry their page ends (the "journal" of
// Convex's sync protocol). Everything here serves public functions only.

// kindName is a function's kind as Convex's errors spell it: "Query",
// "Mutation".
func kindName(mutation bool) string {
	if mutation {
		return "Mutation"
	}
	return "Query"
}

// public returns the public function name, or the error CallPublic gives.
func (r *Registry) public(name string) (registered, error) {
	f, ok := r.fns[name]
	if !ok {
		return registered{}, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	if f.internal {
		return registered{}, fmt.Errorf("%w: %q", ErrInternalFunction, name)
	}
	return f, nil
}

// publicOfKind returns the public function name if it is of kind k; a
// function of the other kind is ErrWrongFunctionKind.
func (r *Registry) publicOfKind(name string, mutation bool) (registered, error) {
	f, err := r.public(name)
	if err != nil {
		return f, err
	}
	if f.info.Mutation != mutation {
		return f, fmt.Errorf("%w: trying to execute %s as %s, but it is defined as %s", ErrWrongFunctionKind, name, kindName(mutation), kindName(f.info.Mutation))
	}
	return f, nil
}

// QueryPublic runs the public query name for an untrusted caller, with the
// identity ctx carries (see [WithIdentity]), and returns its result as a
// Convex value (see [PublicUpdate.Value]) with the timestamp of the
// snapshot it read. Unknown and internal names are refused as by
// [Registry.CallPublic], and a mutation's name with ErrWrongFunctionKind.
// A panic of the function is returned as an error.
func (r *Registry) QueryPublic(ctx context.Context, db *DB, name string, args Doc) (any, uint64, error) {
	f, err := r.publicOfKind(name, false)
	if err != nil {
		return nil, 0, err
	}
	var out any
	tx, err := db.query(ctx, func(q *QueryCtx) (err error) {
		out, err = f.runQuery(q, args)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, tx.ts, nil
}

// MutatePublic runs the public mutation name for an untrusted caller, with
// the identity ctx carries, as [DB.MutationTS] runs a mutation, and returns
// its result as a Convex value with the commit timestamp: a subscription
// update at that timestamp or later reflects it. Unknown and internal
// names are refused as by [Registry.CallPublic], and a query's name with
// ErrWrongFunctionKind. A panic of the function is returned as an error,
// and nothing is written.
func (r *Registry) MutatePublic(ctx context.Context, db *DB, name string, args Doc) (any, uint64, error) {
	f, err := r.publicOfKind(name, true)
	if err != nil {
		return nil, 0, err
	}
	var out any
	ts, err := db.MutationTS(ctx, func(m *MutationCtx) (err error) {
		out, err = f.runMutation(m, args)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, ts, nil
}

// PublicUpdate is one result of [Registry.SubscribePublic].
type PublicUpdate struct {
	// Value is the query's result as a Convex value: nil, bool, int64,
	// float64, string, []byte, []any or map[string]any (and Go integer
	// kinds that the returns validator did not convert: they are Int64
	// values). It is the result the returns validator accepted, so a Go
	// int declared v.Float64() is a float64 here. It is nil when Err is
	// set. Read it, do not modify it: the subscription keeps it to compare
	// with the next result.
	Value any
	// Err is the query's error, or a panic of it as an error.
	Err error
	// Timestamp is the snapshot the result was read at: every commit up
	// to it is reflected.
	Timestamp uint64
	// Journal holds the page end of each Paginate call of the run, in
	// call order (Convex's query journal). Pass it to SubscribePublic when
	// subscribing again to the same query and arguments, and each
	// paginated query keeps its page end.
	Journal []string
}

// SubscribePublic subscribes an untrusted caller, with the identity ctx
// carries, to the public query name: it runs now and after every commit
// that writes inside what it read, as with [Subscribe], and onUpdate
// receives each result that differs from the last one. journal is the
// Journal of an earlier update of the same query and arguments (nil for a
// first subscription): a Paginate call without an EndCursor ends where
// the journal says, so that a page keeps its end across subscriptions
// (a forged journal fails as an invalid cursor does).
//
// onUpdate is called with the first result before SubscribePublic
// returns, on the caller's goroutine, and later on the DB's subscription
// goroutines, never twice at once for one subscription. It must return
// quickly and must not block: the subscription goroutines serve every
// subscription of the DB. It usually stores the result and wakes its own
// goroutine, so that a slow consumer keeps only the newest result.
//
// The subscription ends when ctx is done, when stop is called, or when
// the DB closes; onUpdate is not called after stop returns, except by a
// re-run already in progress. Unknown and internal names are refused as
// by [Registry.CallPublic], and a mutation's name with
// ErrWrongFunctionKind; a failure of the query itself is an update with
// Err set, and the subscription goes on.
func (r *Registry) SubscribePublic(ctx context.Context, db *DB, name string, args Doc, journal []string, onUpdate func(PublicUpdate)) (stop func(), err error) {
	f, err := r.publicOfKind(name, false)
	if err != nil {
		return nil, err
	}
	run := func(q *QueryCtx) (any, error) {
		x, err := f.runQuery(q, args)
		if err != nil {
			return nil, err
		}
		// The result and the journal travel as one []any, which the
		// subscription compares element by element without reflection.
		j := q.DB.tx.journalOut
		js := make([]any, len(j))
		for i, c := range j {
			js[i] = c
		}
		return []any{x, js}, nil
	}
	deliver := func(x any, err error, ts uint64) {
		u := PublicUpdate{Err: err, Timestamp: ts}
		if pair, ok := x.([]any); ok && err == nil {
			u.Value = pair[0]
			for _, c := range pair[1].([]any) {
				u.Journal = append(u.Journal, c.(string))
			}
		}
		onUpdate(u)
	}
	st := &subState{
		mgr:     db.subs,
		ctx:     ctx,
		run:     run,
		deliver: deliver,
		closeCh: func() {},
		journal: journal,
	}
	if err := db.subs.add(st); err != nil {
		return nil, err
	}
	return func() { st.mgr.remove(st) }, nil
}

// publicValue converts a function's result to the Convex value a remote
// caller receives: the value the returns validator conformed it to (so a
// Go int declared v.Float64() travels as a Float64), or the value of
// [ToDoc]'s mapping when there is no validator. opts is as for checkArgs.
func (d *FunctionDef[A, R]) publicValue(r R, opts tableNamer) (any, error) {
	x, err := resultValue(r)
	if err != nil {
		return nil, &ReturnsError{Function: d.Name, Err: err}
	}
	if d.Returns == nil || d.Returns.Kind() == "any" {
		return x, nil
	}
	y, err := conform(d.Returns, x, opts)
	if err != nil {
		return nil, &ReturnsError{Function: d.Name, Err: err}
	}
	return y, nil
}

// runPublic runs the query for a remote caller inside q: the arguments
// are checked and decoded as [Registry.CallPublic] does, and the result
// is a Convex value (publicValue).
func (f *QueryFunction[A, R]) runPublic(q *QueryCtx, args Doc) (x any, err error) {
	defer recovered(f.Name, &err)
	a, err := decodeArgs(&f.FunctionDef, args)
	if err != nil {
		return nil, err
	}
	opts := validationOptions(q.DB.tx)
	if err := f.checkArgs(a, f.handler != nil, opts); err != nil {
		return nil, err
	}
	r, err := f.handler(q, a)
	if err != nil {
		return nil, err
	}
	return f.publicValue(r, opts)
}

// runPublic runs the mutation for a remote caller inside m, as the query's
// runPublic does. It is the whole transaction, so a failure needs no
// savepoint: the caller's mutation discards every write.
func (f *MutationFunction[A, R]) runPublic(m *MutationCtx, args Doc) (x any, err error) {
	defer recovered(f.Name, &err)
	a, err := decodeArgs(&f.FunctionDef, args)
	if err != nil {
		return nil, err
	}
	opts := validationOptions(m.DB.tx)
	if err := f.checkArgs(a, f.handler != nil, opts); err != nil {
		return nil, err
	}
	r, err := f.handler(m, a)
	if err != nil {
		return nil, err
	}
	return f.publicValue(r, opts)
}

// decodeArgs validates arguments in document form and decodes them into
// A, as the Registry's call does.
func decodeArgs[A, R any](d *FunctionDef[A, R], args Doc) (A, error) {
	var zero A
	if err := d.checkDoc(args); err != nil {
		return zero, err
	}
	a, err := FromDoc[A](args)
	if err != nil {
		return zero, &ArgumentError{Function: d.Name, Err: err}
	}
	return a, nil
}

// recovered turns a panic of a function run for a remote caller into an
// error: the caller's input must not bring the server down.
func recovered(name string, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("livedb: function %s panicked: %v", name, p)
	}
}
