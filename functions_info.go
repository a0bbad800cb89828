package livedb

import (
	"slices"

	"github.com/livedb-go/livedb/v"
)

// FunctionInfo describes a function of a [Registry], for tools that list
// functions or build forms for them (a dashboard, a network server). Args
// and Returns are the definition's validators, nil when unvalidated; they
// are shared with the definition and must not be changed.
type FunctionInfo struct {
	Name string
	// Mutation is true for a mutation, false for a query.
	Mutation bool
	Internal bool
	Args     v.Validator
	Returns  v.Validator
}

// info describes the definition as a mutation, or a query.
func (d *FunctionDef[A, R]) info(mutation bool) FunctionInfo {
	return FunctionInfo{Name: d.Name, Mutation: mutation, Internal: d.Internal, Args: d.Args, Returns: d.Returns}
}

// Functions describes every function of the registry, internal ones
// included (with Internal set), sorted by name. Only [Registry.CallPublic]
// decides who may run them.
func (r *Registry) Functions() []FunctionInfo {
	out := make([]FunctionInfo, 0, len(r.fns))
	for _, name := range r.sortedNames() {
		out = append(out, r.fns[name].info)
	}
	return out
}

// Function describes the function called name.
func (r *Registry) Function(name string) (FunctionInfo, bool) {
	f, ok := r.fns[name]
	return f.info, ok
}

// sortedNames returns the names of every function, sorted.
func (r *Registry) sortedNames() []string {
	names := make([]string, 0, len(r.fns))
	for n := range r.fns {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
