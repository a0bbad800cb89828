// Package workpool is Convex's workpool component for livedb: a queue of
// work items that mutations enqueue and that workers, goroutines of the
// program, take with a lease, retry with backoff and complete exactly once
// with an onComplete mutation in the same transaction.
//
// In Convex the work pool is a component (@convex-dev/workpool) beside
// the core, not part of convex/server; so it is a package beside the root
// package livedb, which stays the engine and its core API. It runs on the
// engine's scheduler: [Pool.Work] takes the *livedb.Runner of
// livedb.DB.StartScheduler, whose loop gives back the items whose lease
// ended, and whose registry holds the onComplete mutations. Items live in
// the system table [ItemsTable], which queries and subscriptions read like
// any table.
//
//	emails := workpool.New("emails", &workpool.Options{MaxParallelism: 4})
//	err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
//		_, err := emails.Enqueue(m, livedb.Doc{"to": "ada@example.com"}, nil)
//		return err
//	})
//	...
//	err = emails.Work(ctx, runner, func(ctx context.Context, item *workpool.Item) (any, error) {
//		return send(ctx, item.Args["to"].(string))
//	})
package workpool
