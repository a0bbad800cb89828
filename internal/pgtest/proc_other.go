//go:build !unix

package pgtest

import (
	"os"
	"syscall"
)

// serverOwner is unused where there is no root user to avoid.
type serverOwner struct{}

func serverUser() (*serverOwner, error)                      { return nil, nil }
func (o *serverOwner) chown(string) error                    { return nil }
func (o *serverOwner) sysProcAttr(bool) *syscall.SysProcAttr { return nil }

// Without signals, both shutdowns end the process.
var (
	sigFast      = os.Kill
	sigImmediate = os.Kill
)

func signalProc(p *postmaster, sig os.Signal) error { return p.cmd.Process.Signal(sig) }
func killGroup(p *postmaster)                       { _ = p.cmd.Process.Kill() }

// processAlive answers true, so that no directory is taken for stale.
func processAlive(int) bool { return true }
