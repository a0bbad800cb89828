package v_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/livedb-go/livedb/v"
)

// A document with a wrong field deep inside fails with Convex's message and
// the path to the field.
func ExampleValidationError() {
	thread := v.Object(v.Fields{
		"title": v.String(),
		"messages": v.Array(v.Object(v.Fields{
			"author": v.String(),
			"body":   v.String(),
		})),
	})
	doc := map[string]any{
		"title": "standup",
		"messages": []any{
			map[string]any{"author": "ann", "body": "hi"},
			map[string]any{"author": 42, "body": "hello"},
		},
	}
	err := thread.Validate(doc)
	fmt.Println(err)

	var ve *v.ValidationError
	if !errors.As(err, &ve) {
		log.Fatal("not a validation error")
	}
	fmt.Println("path:", ve.Path, "| expected:", ve.Validator, "| found:", ve.Value)
	// Output:
	// Value does not match validator.
	// Path: .messages[1].author
	// Value: 42
	// Validator: v.string()
	// path: .messages[1].author | expected: v.string() | found: 42
}

// Optional fields may be absent but not null; extra fields are rejected.
func ExampleObject() {
	session := v.Object(v.Fields{
		"agentType": v.String(),
		"status":    v.Union(v.Literal("idle"), v.Literal("running"), v.Literal("done")),
		"output":    v.Optional(v.String()),
	})
	fmt.Println(session.Validate(map[string]any{"agentType": "coder", "status": "idle"}))
	fmt.Println(session.Validate(map[string]any{"agentType": "coder", "status": "idle", "extra": true}))
	// Output:
	// <nil>
	// Object contains extra field `extra` that is not in the validator.
	//
	// Object: {agentType: "coder", extra: true, status: "idle"}
	// Validator: v.object({agentType: v.string(), output: v.optional(v.string()), status: v.union(v.literal("idle"), v.literal("running"), v.literal("done"))})
}

// A validator reads and writes Convex's ValidatorJSON.
func ExampleFromJSON() {
	val, err := v.FromJSON([]byte(`{"type":"object","value":{"n":{"fieldType":{"type":"bigint"},"optional":true}}}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(val)
	b, err := v.Array(v.Literal(int64(1))).MarshalJSON()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output:
	// v.object({n: v.optional(v.int64())})
	// {"type":"array","value":{"type":"literal","value":{"$integer":"AQAAAAAAAAA="}}}
}

// Builder mistakes do not panic: the validator carries the error.
func ExampleErr() {
	scores := v.Record(v.String(), v.Optional(v.Float64()))
	fmt.Println(v.Err(scores))
	// Output:
	// livedb: invalid validator: Records cannot have optional values
}
