//go:build !unix

package livedb_test

// minorFaults returns -1: the platform does not count page faults.
func minorFaults() int64 { return -1 }
