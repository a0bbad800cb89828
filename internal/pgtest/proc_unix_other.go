//go:build unix && !linux

package pgtest

import "syscall"

// setPdeathsig does nothing where the kernel has no parent-death signal: a
// server whose test binary died without Close stops within a minute of
// removeStale deleting its directory (PostgreSQL checks its lock file).
func setPdeathsig(*syscall.SysProcAttr) {}
