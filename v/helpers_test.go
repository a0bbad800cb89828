package v_test

import (
	"errors"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/v"
)

// Table numbers of the tables the tests know.
const (
	workflowsTable = 10001
	usersTable     = 10002
	storageTable   = 513
	unknownTable   = 10099
)

var testTables = map[uint32]string{
	workflowsTable: "workflows",
	usersTable:     "users",
	storageTable:   "_storage",
}

// testID returns a valid ID of the table; seed varies the internal id.
func testID(table uint32, seed byte) string {
	var b [16]byte
	for i := range b {
		b[i] = seed + byte(i)
	}
	return id.Encode(table, b)
}

// testTableName resolves the test tables, as a database resolves its own.
func testTableName(n uint32) (string, bool) {
	name, ok := testTables[n]
	return name, ok
}

// MustValidationError returns err as a *ValidationError, failing the test
// when it is not one.
func MustValidationError(t *testing.T, err error) *v.ValidationError {
	t.Helper()
	var ve *v.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *v.ValidationError", err, err)
	}
	return ve
}
