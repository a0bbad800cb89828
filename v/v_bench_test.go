package v_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/vconform"
	"github.com/livedb-go/livedb/v"
)

// benchSession is an agent-session document of about 430 bytes of JSON.
func benchSession() (*v.ObjectValidator, map[string]any) {
	val := v.Object(v.Fields{
		"workflowId": v.ID("workflows"),
		"status":     v.Union(v.Literal("idle"), v.Literal("running"), v.Literal("completed"), v.Literal("failed")),
		"agentType":  v.String(),
		"startedAt":  v.Float64(),
		"input":      v.String(),
		"output":     v.Optional(v.String()),
	})
	doc := map[string]any{
		"workflowId": testID(workflowsTable, 1),
		"status":     "completed",
		"agentType":  "reviewer",
		"startedAt":  1731974400123.5,
		"input":      "Review the patch that adds cursor pagination to the query layer. " + strings.Repeat("Check edge cases. ", 9),
		"output":     "Approved with two nits: rename the cursor type and add a test for the empty page.",
	}
	return val, doc
}

func TestBenchSession_Size(t *testing.T) {
	val, doc := benchSession()
	if err := val.Validate(doc); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b); n < 400 || n > 460 {
		t.Fatalf("benchmark document is %d bytes of JSON, want about 430", n)
	}
}

func BenchmarkObjectValidate(b *testing.B) {
	val, doc := benchSession()
	b.ReportAllocs()
	for b.Loop() {
		if err := val.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObjectConform(b *testing.B) {
	val, doc := benchSession()
	opts := testTableName
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vconform.Conform(val, doc, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObjectValidateError(b *testing.B) {
	val, doc := benchSession()
	bad := make(map[string]any, len(doc))
	for k, x := range doc {
		bad[k] = x
	}
	bad["status"] = "paused"
	b.ReportAllocs()
	for b.Loop() {
		if err := val.Validate(bad); err == nil {
			b.Fatal("no error")
		}
	}
}

func BenchmarkFromJSON(b *testing.B) {
	in := []byte(agentSchemaJSON)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.FromJSON(in); err != nil {
			b.Fatal(err)
		}
	}
}
