package livedb_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
)

// benchTypedSession is an agent session of about 430 bytes as JSON.
func benchTypedSession(wf livedb.Ref[typedWorkflow]) typedSession {
	return typedSession{
		ID:           "j57000820c20a1g7104gm2rc1m70ynr8",
		CreationTime: 1700000000123.25,
		WorkflowID:   wf,
		AgentType:    "reviewer",
		Status:       "running",
		Output:       typedPtr(strings.Repeat("reviewed the diff; two comments on error wrapping. ", 2) + "approved with nits"),
		StartedAt:    1700000000456.5,
		Attempt:      3,
		Tokens:       48213,
		Meta:         &typedMeta{Model: "large-model-2025-01", Tags: []string{"go", "review", "livedb", "typed"}},
	}
}

// mustBenchDB opens a memory database with one workflow.
func mustBenchDB(b *testing.B) (*livedb.DB, livedb.Ref[typedWorkflow]) {
	b.Helper()
	db, err := livedb.OpenMemory(typedSchema())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	var wf livedb.Ref[typedWorkflow]
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		wf, err = typedWorkflows.Insert(m.DB, typedWorkflow{Task: "bench", Status: "pending"})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, wf
}

// BenchmarkTableInsert inserts one agent session per mutation, typed and
// through the untyped Writer.Insert of the same document for comparison.
func BenchmarkTableInsert(b *testing.B) {
	ctx := context.Background()
	b.Run("typed", func(b *testing.B) {
		db, wf := mustBenchDB(b)
		s := benchTypedSession(wf)
		b.ReportAllocs()
		for b.Loop() {
			err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
				_, err := typedSessions.Insert(m.DB, s)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("doc", func(b *testing.B) {
		db, wf := mustBenchDB(b)
		d, err := livedb.ToDoc(benchTypedSession(wf))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("agentSessions", d)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTableGet reads one agent session per query, typed and untyped.
func BenchmarkTableGet(b *testing.B) {
	ctx := context.Background()
	db, wf := mustBenchDB(b)
	var ref livedb.Ref[typedSession]
	err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		var err error
		ref, err = typedSessions.Insert(m.DB, benchTypedSession(wf))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := db.Query(ctx, func(q *livedb.QueryCtx) error {
				_, ok, err := typedSessions.Get(q.DB, ref)
				if !ok && err == nil {
					b.Fatal("not found")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("doc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := db.Query(ctx, func(q *livedb.QueryCtx) error {
				_, ok, err := q.DB.Get(ref.ID())
				if !ok && err == nil {
					b.Fatal("not found")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkToDoc converts a ~430-byte agent session to a Doc.
func BenchmarkToDoc(b *testing.B) {
	s := benchTypedSession("j57000820c20a1g7104gm2rc1m70ynr9")
	if js, _ := json.Marshal(s); len(js) < 400 || len(js) > 460 {
		b.Fatalf("the session is %d bytes of JSON, want about 430", len(js))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := livedb.ToDoc(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromDoc converts a ~430-byte agent session document, as a Get
// returns it, to the struct.
func BenchmarkFromDoc(b *testing.B) {
	s := benchTypedSession("j57000820c20a1g7104gm2rc1m70ynr9")
	d, err := livedb.ToDoc(&s)
	if err != nil {
		b.Fatal(err)
	}
	// Make it canonical, as stored: Int64 attempt, Float64 tokens, and the
	// system fields.
	d["attempt"], d["tokens"] = int64(3), 48213.0
	d["_id"], d["_creationTime"] = livedb.ID(s.ID), s.CreationTime
	b.ReportAllocs()
	for b.Loop() {
		if _, err := livedb.FromDoc[typedSession](d); err != nil {
			b.Fatal(err)
		}
	}
}
