//go:build unix

package livedb_test

import "syscall"

// minorFaults returns the page faults the process has taken that needed no
// I/O (first touches of mapped or new memory), or -1 where unknown.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return int64(ru.Minflt)
}
