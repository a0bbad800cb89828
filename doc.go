// Package livedb gives Go programs Convex's data model in-process: schemas
// built with the [github.com/livedb-go/livedb/v] validator builder, documents
// with _id and _creationTime, indexes with Convex's exact ordering,
// serializable mutations, cursor pagination and reactive subscriptions, stored
// durably in one bbolt file or in memory for tests.
package livedb
