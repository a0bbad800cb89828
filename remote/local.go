package remote

import (
	"context"
	"errors"
	"sync"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/value"
)

// Local returns the [Backend] of an embedded database: the public
// functions of reg run on db in this process, as a livedb server would
// run them for a remote client (internal functions are refused, results
// are the Convex values the returns validators accepted), with the
// identity the call's context carries ([livedb.WithIdentity]). Results
// and errors have the types a [Client] gives.
//
// Close ends the subscriptions made through the Backend; it does not
// close db, which the caller owns.
func Local(db *livedb.DB, reg *livedb.Registry) Backend {
	return &local{db: db, reg: reg, subs: map[*Subscription]struct{}{}}
}

type local struct {
	db  *livedb.DB
	reg *livedb.Registry

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

func (l *local) Query(ctx context.Context, name string, args any) (any, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	a, err := callArgs(name, args)
	if err != nil {
		return nil, err
	}
	x, _, err := l.reg.QueryPublic(ctx, l.db, name, a)
	if err != nil {
		return nil, localError(name, err)
	}
	return canonical(name, x)
}

func (l *local) Mutation(ctx context.Context, name string, args any) (any, uint64, error) {
	if err := l.check(); err != nil {
		return nil, 0, err
	}
	a, err := callArgs(name, args)
	if err != nil {
		return nil, 0, err
	}
	x, ts, err := l.reg.MutatePublic(ctx, l.db, name, a)
	if err != nil {
		return nil, 0, localError(name, err)
	}
	x, err = canonical(name, x)
	return x, ts, err
}

func (l *local) Paginate(ctx context.Context, name string, args any, opts livedb.PaginationOptions) (livedb.PaginationResult[livedb.Doc], error) {
	a, err := pageArgs(name, args, opts)
	if err != nil {
		return livedb.PaginationResult[livedb.Doc]{}, err
	}
	x, err := l.Query(ctx, name, a)
	if err != nil {
		return livedb.PaginationResult[livedb.Doc]{}, err
	}
	return pageResult(name, x)
}

func (l *local) Subscribe(ctx context.Context, name string, args any) (*Subscription, error) {
	a, err := callArgs(name, args)
	if err != nil {
		return nil, err
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	s := newSubscription()
	stop, err := l.reg.SubscribePublic(ctx, l.db, name, a, nil, func(u livedb.PublicUpdate) {
		out := Update{Err: u.Err, Timestamp: u.Timestamp}
		if u.Err != nil {
			out.Err = localError(name, u.Err)
		} else {
			out.Value, out.Err = canonical(name, u.Value)
		}
		s.deliver(out)
	})
	if err != nil {
		return nil, localError(name, err)
	}
	s.stop = func() {
		stop()
		l.forget(s)
	}
	// Registered once stop is set, so that Close can end it.
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		s.Close()
		return nil, ErrClosed
	}
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	s.watch(ctx)
	return s, nil
}

func (l *local) Close() error {
	l.mu.Lock()
	l.closed = true
	subs := make([]*Subscription, 0, len(l.subs))
	for s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	return nil
}

func (l *local) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return nil
}

func (l *local) forget(s *Subscription) {
	l.mu.Lock()
	delete(l.subs, s)
	l.mu.Unlock()
}

// localError is the error of an embedded call as a *FunctionError, which
// wraps it; a context's end stays as it is.
func localError(name string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fe := &FunctionError{Function: name, Message: err.Error(), Err: err}
	if errors.Is(err, livedb.ErrUnknownFunction) || errors.Is(err, livedb.ErrInternalFunction) {
		fe.notFound = true
	}
	return fe
}

// canonical converts a function's result to the Go values a Client
// decodes: an ID becomes a string and Go integer kinds int64.
func canonical(name string, x any) (any, error) {
	y, err := value.Normalize(x)
	if err != nil {
		return nil, &FunctionError{Function: name, Message: "the result is not a Convex value: " + err.Error(), Err: err}
	}
	return y, nil
}
