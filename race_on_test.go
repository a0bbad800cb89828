//go:build race

package livedb_test

func init() { procRace = true }
