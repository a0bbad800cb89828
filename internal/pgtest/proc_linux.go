package pgtest

import "syscall"

// setPdeathsig makes the kernel kill the postmaster when the test binary
// dies; its backends then notice and exit.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
