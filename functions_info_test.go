package livedb_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

func TestRegistry_Functions_KindsAndValidators(t *testing.T) {
	internal := livedb.NewMutation(livedb.FunctionDef[fnTaskArgs, livedb.ID]{
		Name: "workflows:internalInsert", Args: fnTaskArgsValidator(), Internal: true,
	}, func(m *livedb.MutationCtx, a fnTaskArgs) (livedb.ID, error) { return "", nil })
	reg, err := livedb.NewRegistry(fnInsertWorkflow, fnCountWorkflows, internal)
	require.NoError(t, err)

	fns := reg.Functions()
	require.Len(t, fns, 3)
	names := []string{fns[0].Name, fns[1].Name, fns[2].Name}
	assert.Equal(t, []string{"workflows:count", "workflows:insert", "workflows:internalInsert"}, names, "sorted by name, internal included")
	assert.False(t, fns[0].Mutation, "a query")
	assert.True(t, fns[1].Mutation, "a mutation")
	assert.False(t, fns[1].Internal)
	assert.True(t, fns[2].Internal)
	require.NotNil(t, fns[1].Args)
	assert.Equal(t, fnTaskArgsValidator().String(), fns[1].Args.String())
	require.NotNil(t, fns[1].Returns)
	assert.Equal(t, `v.id("workflows")`, fns[1].Returns.String())

	got, ok := reg.Function("workflows:count")
	require.True(t, ok)
	assert.False(t, got.Mutation, "a query")
	_, ok = reg.Function("workflows:nope")
	assert.False(t, ok)
}
