package livedb_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// The agent-orchestration schema: workflows and the agent sessions that work
// on them, with the indexes their queries use.
func ExampleDefineSchema() {
	schema := livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("in_progress"), v.Literal("completed"), v.Literal("failed")),
		})).Index("by_status", "status"),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"status":     v.String(),
			"output":     v.Optional(v.String()),
		})).Index("by_workflow", "workflowId").
			Index("by_workflow_and_status", "workflowId", "status"),
	})
	if err := schema.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("err:", schema.Err())
	for _, name := range schema.TableNames() {
		table, _ := schema.Table(name)
		for _, ix := range table.Indexes() {
			fmt.Println(name, ix.Name, ix.Fields)
		}
	}
	// Output:
	// err: <nil>
	// agentSessions by_workflow [workflowId]
	// agentSessions by_workflow_and_status [workflowId status]
	// workflows by_status [status]
}

// A definition mistake does not panic: Err reports it, naming the table and
// the index, in Convex's words. Here the index names a field that only exists
// inside metadata ("metadata.workflowId" would be right).
func ExampleSchema_Err() {
	schema := livedb.DefineSchema(livedb.Tables{
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"agentType": v.String(),
			"metadata": v.Optional(v.Object(v.Fields{
				"workflowId": v.ID("workflows"),
			})),
		})).Index("by_workflow", "workflowId"),
	})
	err := schema.Err()
	fmt.Println(err)
	fmt.Println(errors.Is(err, livedb.ErrInvalidSchema))

	var se *livedb.SchemaError
	if errors.As(err, &se) {
		fmt.Println(se.Table, se.Index)
	}
	// Output:
	// livedb: schema: table "agentSessions" index "by_workflow": In table "agentSessions" the index "by_workflow" is invalid because it references the field "workflowId" that does not exist.
	// true
	// agentSessions by_workflow
}

// A schema exported by Convex (npx convex's schema.export()) loads as it is.
func ExampleSchemaFromJSON() {
	schema, err := livedb.SchemaFromJSON([]byte(`{"tables":[{"tableName":"messages",
		"indexes":[{"indexDescriptor":"by_channel","fields":["channel"]}],
		"stagedDbIndexes":[],"searchIndexes":[],"stagedSearchIndexes":[],"vectorIndexes":[],"stagedVectorIndexes":[],
		"documentType":{"type":"object","value":{
			"channel":{"fieldType":{"type":"string"},"optional":false},
			"body":{"fieldType":{"type":"string"},"optional":false}}}}],
		"schemaValidation":true}`))
	if err != nil {
		log.Fatal(err)
	}
	messages, _ := schema.Table("messages")
	fmt.Println(schema.TableNames(), messages.Indexes(), schema.Validation())
	// Output:
	// [messages] [{by_channel [channel]}] true
}
