// Package vconform is how the engine reaches the one step of package v
// that v keeps from its users: conforming a value to a validator, with the
// database's table names at hand.
//
// Users validate with a v.Validator's Validate method. The engine also needs the
// value back in canonical form (Go integers as Int64 or Float64 as the
// validator expects, IDs as strings, containers copied) and v.ID checked
// against the table an ID belongs to, which takes the database's table
// numbers. Exporting that from package v would put an engine hook in the
// validator builder's API, so v sets [Conform] when it is initialised and
// the root package calls it. Any package that imports v (the root package
// does, for its schema types) finds Conform set.
package vconform

// Conform validates x against val, which must be a v.Validator, and returns
// x in canonical form. tableName maps the table number found in an ID to
// the table's name; with it, v.ID("t") accepts only IDs of table t, and
// without it (nil) any well-formed ID. The errors are those of Validate.
//
// Package v sets it in its init function.
var Conform func(val any, x any, tableName func(tableNumber uint32) (name string, ok bool)) (any, error)
