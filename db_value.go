package livedb

import "context"

// QueryValue runs fn as [DB.Query] does, against one snapshot, and returns
// the value fn returns: the form of Query for a function that computes a
// result, without a variable captured from the enclosing function.
//
//	n, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (int, error) {
//		docs, err := q.DB.Query("workflows").Collect()
//		return len(docs), err
//	})
//
// When fn or the query fails, QueryValue returns T's zero value and the
// error, whatever fn returned with it. It is a function rather than a
// method because Go methods cannot have type parameters; [Subscribe]
// takes the same fn and delivers its value after every relevant commit.
func QueryValue[T any](ctx context.Context, db *DB, fn func(q *QueryCtx) (T, error)) (T, error) {
	var out T
	err := db.Query(ctx, func(q *QueryCtx) error {
		x, err := fn(q)
		if err != nil {
			return err
		}
		out = x
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// MutationValue runs fn as [DB.Mutation] does, as a serializable
// transaction committed when fn returns a nil error, and returns the value
// fn returned:
//
//	id, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.ID, error) {
//		return m.DB.Insert("workflows", livedb.Doc{"task": "ship it", "status": "pending"})
//	})
//
// fn may run several times: after a conflict, Mutation runs it again on a
// new snapshot. The value returned is the one of the run that committed,
// the last; values of runs that conflicted are discarded, as their writes
// are. When fn fails, or the commit does (a *ConflictError after the
// retries, a cancelled ctx), MutationValue returns T's zero value and the
// error, whatever fn returned with it, and nothing is written.
func MutationValue[T any](ctx context.Context, db *DB, fn func(m *MutationCtx) (T, error)) (T, error) {
	var out T
	err := db.Mutation(ctx, func(m *MutationCtx) error {
		x, err := fn(m)
		if err != nil {
			return err
		}
		out = x // a later run, after a conflict, overwrites it
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}
