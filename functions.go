package livedb

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/google/btree"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/v"
)

// ArgumentError says that a function's arguments do not match its args
// validator (Convex's ArgumentValidationError). Err is usually a
// *v.ValidationError with the path.
type ArgumentError struct {
	Function string
	Err      error
}

// Error describes the failure.
func (e *ArgumentError) Error() string {
	return fmt.Sprintf("livedb: ArgumentValidationError: function %s: %s", e.Function, e.Err.Error())
}

// Unwrap returns the validation error.
func (e *ArgumentError) Unwrap() error { return e.Err }

// ReturnsError says that a function's result does not match its returns
// validator (Convex's ReturnsValidationError).
type ReturnsError struct {
	Function string
	Err      error
}

// Error describes the failure.
func (e *ReturnsError) Error() string {
	return fmt.Sprintf("livedb: ReturnsValidationError: function %s: %s", e.Function, e.Err.Error())
}

// Unwrap returns the validation error.
func (e *ReturnsError) Unwrap() error { return e.Err }

// Identity is the authenticated caller of a function (Convex's
// UserIdentity). TokenIdentifier is Issuer + "|" + Subject by convention.
type Identity struct {
	TokenIdentifier string
	Subject         string
	Issuer          string
	Name            string
	Email           string
	// Claims holds any other claims of the caller's token.
	Claims map[string]any
}

type identityKey struct{}

// WithIdentity returns a context that carries the caller's identity to the
// functions run under it.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identityFrom returns the identity that ctx carries, or nil.
func identityFrom(ctx context.Context) *Identity {
	id, _ := ctx.Value(identityKey{}).(*Identity)
	return id
}

// Auth returns the caller's identity, or nil when the call is
// unauthenticated (Convex's ctx.auth.getUserIdentity()). It is the one way
// a function reads the identity that [WithIdentity] put in the context it
// was called with.
func (q *QueryCtx) Auth() *Identity { return identityFrom(q.ctx) }

// Auth returns the caller's identity, or nil when the call is
// unauthenticated; see [QueryCtx.Auth].
func (m *MutationCtx) Auth() *Identity { return identityFrom(m.ctx) }

// FunctionDef describes a registered function: Convex's
// query({args, returns, handler}) in Go. A is the arguments' Go type (a
// struct with json tags, a map, or Doc) and R the result's.
type FunctionDef[A, R any] struct {
	// Name identifies the function in a Registry and in errors, e.g.
	// "workflows:get".
	Name string
	// Args validates the arguments: a v.Object or v.Any; nil means
	// unvalidated.
	Args v.Validator
	// Returns validates the result; nil means unvalidated.
	Returns v.Validator
	// Internal marks a function that only trusted code may call: it runs
	// in-process, but a Registry never serves it to a public caller.
	Internal bool
}

// QueryFunction is a validated query: build it with [NewQuery].
type QueryFunction[A, R any] struct {
	FunctionDef[A, R]
	handler func(q *QueryCtx, args A) (R, error)
}

// MutationFunction is a validated mutation: build it with [NewMutation].
type MutationFunction[A, R any] struct {
	FunctionDef[A, R]
	handler func(m *MutationCtx, args A) (R, error)
}

// NewQuery defines a query function.
func NewQuery[A, R any](def FunctionDef[A, R], handler func(q *QueryCtx, args A) (R, error)) *QueryFunction[A, R] {
	return &QueryFunction[A, R]{FunctionDef: def, handler: handler}
}

// NewMutation defines a mutation function.
func NewMutation[A, R any](def FunctionDef[A, R], handler func(m *MutationCtx, args A) (R, error)) *MutationFunction[A, R] {
	return &MutationFunction[A, R]{FunctionDef: def, handler: handler}
}

// checkArgs validates the definition and the arguments. opts resolves the
// table of an ID, so that v.ID("t") accepts only IDs of table t.
func (d *FunctionDef[A, R]) checkArgs(args A, hasHandler bool, opts tableNamer) error {
	if !hasHandler {
		return fmt.Errorf("%w: function %s has no handler", ErrInvalidFunction, d.Name)
	}
	if d.Args == nil {
		return nil
	}
	if k := d.Args.Kind(); k != "object" && k != "any" {
		return fmt.Errorf("%w: function %s: args validator must be an object or any, not %s", ErrInvalidFunction, d.Name, k)
	}
	x, err := ToDoc(args)
	if err != nil {
		return &ArgumentError{Function: d.Name, Err: err}
	}
	if _, err := conform(d.Args, map[string]any(x), opts); err != nil {
		return &ArgumentError{Function: d.Name, Err: err}
	}
	return nil
}

// checkDoc validates arguments in document form, before a Registry decodes
// them into A, so that a caller's mistake is reported with its validation
// path rather than as a decoding error. A bad definition is left for
// checkArgs to report.
func (d *FunctionDef[A, R]) checkDoc(args Doc) error {
	if d.Args == nil {
		return nil
	}
	if k := d.Args.Kind(); k != "object" && k != "any" {
		return nil
	}
	if args == nil {
		args = Doc{}
	}
	if err := d.Args.Validate(map[string]any(args)); err != nil {
		return &ArgumentError{Function: d.Name, Err: err}
	}
	return nil
}

// checkResult validates the result; opts is as for checkArgs.
func (d *FunctionDef[A, R]) checkResult(r R, opts tableNamer) error {
	if d.Returns == nil || d.Returns.Kind() == "any" {
		return nil
	}
	x, err := resultValue(r)
	if err != nil {
		return &ReturnsError{Function: d.Name, Err: err}
	}
	if _, err := conform(d.Returns, x, opts); err != nil {
		return &ReturnsError{Function: d.Name, Err: err}
	}
	return nil
}

// resultValue turns a Go result into a value for the returns validator, by
// the mapping of ToDoc: Go integers keep their kind, so the validator takes
// them as Float64 or Int64 as it expects; Refs and IDs are strings; structs
// and slices of them are objects and arrays; a nil pointer is null.
func resultValue(r any) (any, error) {
	x, present, err := codec.Encode(reflect.ValueOf(r))
	if err != nil {
		return nil, codecError(err)
	}
	if !present {
		return nil, nil
	}
	return x, nil
}

// validationOptions resolves the tables of IDs for a transaction.
func validationOptions(tx *txn) tableNamer {
	return tx.cat.tableName
}

// Call runs the query in its own snapshot, with the identity ctx carries.
func (f *QueryFunction[A, R]) Call(ctx context.Context, db *DB, args A) (R, error) {
	return QueryValue(ctx, db, func(q *QueryCtx) (R, error) { return f.Run(q, args) })
}

// Run runs the query inside another query or mutation's transaction: the
// same snapshot (and, in a mutation, its pending writes). Convex's
// ctx.runQuery.
func (f *QueryFunction[A, R]) Run(q *QueryCtx, args A) (R, error) {
	var zero R
	opts := validationOptions(q.DB.tx)
	if err := f.checkArgs(args, f.handler != nil, opts); err != nil {
		return zero, err
	}
	r, err := f.handler(q, args)
	if err != nil {
		return zero, err
	}
	if err := f.checkResult(r, opts); err != nil {
		return zero, err
	}
	return r, nil
}

// Query returns a read-only context over the mutation's transaction, for
// running a query function inside a mutation: it sees the mutation's
// writes so far.
func (m *MutationCtx) Query() *QueryCtx {
	return &QueryCtx{DB: &m.DB.Reader, ctx: m.ctx}
}

// Call runs the mutation as its own transaction (with retries, see
// [DB.Mutation]), with the identity ctx carries.
func (f *MutationFunction[A, R]) Call(ctx context.Context, db *DB, args A) (R, error) {
	return MutationValue(ctx, db, func(m *MutationCtx) (R, error) { return f.Run(m, args) })
}

// Run runs the mutation inside another mutation's transaction as a
// sub-transaction (Convex's ctx.runMutation): if it fails, its own writes
// are rolled back and the caller's stay; the error is returned for the
// caller to handle.
func (f *MutationFunction[A, R]) Run(m *MutationCtx, args A) (R, error) {
	var zero R
	tx := m.DB.tx
	if err := f.checkArgs(args, f.handler != nil, validationOptions(tx)); err != nil {
		return zero, err
	}
	save := tx.savepoint()
	r, err := f.handler(m, args)
	if err == nil {
		err = f.checkResult(r, validationOptions(tx))
	}
	if err != nil {
		tx.rollbackTo(save)
		return zero, err
	}
	return r, nil
}

// savepoint is the state of a mutation's writes at one moment.
type savepoint struct {
	docs         map[string]pendingDoc
	order        int
	overlay      map[uint32]*btree.BTreeG[overlayEntry]
	docsWritten  int
	bytesWritten int64
	cat          *catalog // with the tables created so far
	tables       int
	scheduled    int
}

func (tx *txn) savepoint() *savepoint {
	ws := tx.writes
	ws.flushStaged() // the savepoint's overlay is the trees alone
	sp := &savepoint{docs: make(map[string]pendingDoc, len(ws.docs)), order: len(ws.order), overlay: map[uint32]*btree.BTreeG[overlayEntry]{},
		docsWritten: tx.docsWritten, bytesWritten: tx.bytesWritten, cat: tx.cat, tables: len(ws.tables), scheduled: tx.scheduled}
	for k, pd := range ws.docs {
		sp.docs[k] = *pd
	}
	for id, t := range ws.overlay {
		sp.overlay[id] = t.Clone()
	}
	return sp
}

func (tx *txn) rollbackTo(sp *savepoint) {
	ws := tx.writes
	for _, k := range ws.order[sp.order:] {
		delete(ws.docs, k)
	}
	ws.order = ws.order[:sp.order]
	for k, pd := range sp.docs {
		*ws.docs[k] = pd
	}
	ws.overlay = maps.Clone(sp.overlay)
	clear(ws.staged)
	ws.staged = ws.staged[:0] // staged after the savepoint: rolled back
	tx.docsWritten, tx.bytesWritten = sp.docsWritten, sp.bytesWritten
	tx.cat, ws.tables = sp.cat, ws.tables[:sp.tables]
	tx.scheduled = sp.scheduled
}

// Registry is a set of named functions, the surface a future network
// server would expose. CallPublic refuses internal functions.
//
// A Registry is safe for concurrent use once its functions are added.
type Registry struct {
	fns map[string]registered
}

type registered struct {
	internal bool
	call     func(ctx context.Context, db *DB, args Doc) (any, error)
	info     FunctionInfo
	// The runs for remote callers inside a transaction (one of the two is
	// set, by info.Kind): see functions_public.go.
	runQuery    func(q *QueryCtx, args Doc) (any, error)
	runMutation func(m *MutationCtx, args Doc) (any, error)
	// run runs a mutation inside another mutation's transaction (see
	// MutationFunction.Run), for the scheduler, crons and work pools; nil
	// for a query.
	run func(m *MutationCtx, args Doc) (any, error)
	// check validates arguments in document form (checkDoc).
	check func(args Doc) error
}

// Registerable is a function that can be added to a Registry: a
// *QueryFunction or *MutationFunction whose arguments are a Doc.
type Registerable interface {
	registration() (name string, r registered)
}

func (f *QueryFunction[A, R]) registration() (string, registered) {
	return f.Name, registered{internal: f.Internal, info: f.info(false), runQuery: f.runPublic, check: f.checkDoc, call: func(ctx context.Context, db *DB, args Doc) (any, error) {
		if err := f.checkDoc(args); err != nil {
			return nil, err
		}
		a, err := FromDoc[A](args)
		if err != nil {
			return nil, &ArgumentError{Function: f.Name, Err: err}
		}
		return f.Call(ctx, db, a)
	}}
}

func (f *MutationFunction[A, R]) registration() (string, registered) {
	decode := func(args Doc) (A, error) {
		if err := f.checkDoc(args); err != nil {
			var zero A
			return zero, err
		}
		a, err := FromDoc[A](args)
		if err != nil {
			return a, &ArgumentError{Function: f.Name, Err: err}
		}
		return a, nil
	}
	return f.Name, registered{internal: f.Internal, info: f.info(true), runMutation: f.runPublic, check: f.checkDoc, call: func(ctx context.Context, db *DB, args Doc) (any, error) {
		a, err := decode(args)
		if err != nil {
			return nil, err
		}
		return f.Call(ctx, db, a)
	}, run: func(m *MutationCtx, args Doc) (any, error) {
		a, err := decode(args)
		if err != nil {
			return nil, err
		}
		return f.Run(m, a)
	}}
}

// NewRegistry returns a registry of fns. Two functions with one name are
// an error.
func NewRegistry(fns ...Registerable) (*Registry, error) {
	r := &Registry{fns: map[string]registered{}}
	for _, f := range fns {
		name, reg := f.registration()
		if _, dup := r.fns[name]; dup {
			return nil, fmt.Errorf("%w: function %q registered twice", ErrInvalidFunction, name)
		}
		r.fns[name] = reg
	}
	return r, nil
}

// Names returns the names of the public functions, sorted.
func (r *Registry) Names() []string {
	var out []string
	for n, f := range r.fns {
		if !f.internal {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// CallPublic runs the named function for an untrusted caller: internal
// functions are refused with ErrInternalFunction, as unknown ones are with
// ErrUnknownFunction.
func (r *Registry) CallPublic(ctx context.Context, db *DB, name string, args Doc) (any, error) {
	f, ok := r.fns[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	if f.internal {
		return nil, fmt.Errorf("%w: %q", ErrInternalFunction, name)
	}
	return f.call(ctx, db, args)
}

// mutation returns the registered mutation name, internal or not, for the
// scheduler, crons and work pools to run inside their own transactions.
// A name the registry lacks is ErrUnknownFunction, a query
// ErrInvalidFunction. A nil registry has no functions.
func (r *Registry) mutation(name string) (registered, error) {
	var f registered
	ok := false
	if r != nil {
		f, ok = r.fns[name]
	}
	switch {
	case !ok:
		return f, fmt.Errorf("%w: %q is not a function of the Registry the scheduler was started with", ErrUnknownFunction, name)
	case f.run == nil:
		return f, fmt.Errorf("%w: %q is a query: only a mutation can be scheduled, run by a cron or called on completion", ErrInvalidFunction, name)
	}
	return f, nil
}
