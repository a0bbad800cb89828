package livedb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// Return values from mutations and queries, with typed documents whose
// times are stored as Convex stores dates: Float64 milliseconds, which sort
// in time order in an index.
func ExampleMutationValue() {
	dir, err := os.MkdirTemp("", "livedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	schema := livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"title": v.String(),
			"due":   v.Float64(), // a time.Time in Go
		})).Index("by_due", "due"),
	})
	db, err := livedb.Open(filepath.Join(dir, "state.db"), schema, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	type Task struct {
		ID    livedb.Ref[Task] `json:"_id"`
		Title string           `json:"title"`
		Due   time.Time        `json:"due"`
	}
	tasks := livedb.NewTable[Task]("tasks")

	monday := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	first, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.Ref[Task], error) {
		if _, err := tasks.Insert(m.DB, Task{Title: "review", Due: monday.Add(48 * time.Hour)}); err != nil {
			return "", err
		}
		return tasks.Insert(m.DB, Task{Title: "plan", Due: monday})
	})
	if err != nil {
		log.Fatal(err)
	}

	next, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (Task, error) {
		t, _, err := tasks.Query(q.DB).WithIndex("by_due", nil).First()
		return t, err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(next.Title, next.Due, next.ID == first)
	// Output: plan 2025-01-06 09:00:00 +0000 UTC true
}
