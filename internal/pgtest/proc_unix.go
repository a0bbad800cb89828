//go:build unix

package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// serverOwner is the user that initdb and postgres run as when the tests
// run as root; nil means the test binary's own user.
type serverOwner struct{ uid, gid uint32 }

// serverUser returns the postgres system user when running as root
// (PostgreSQL refuses to run as root), nil otherwise.
func serverUser() (*serverOwner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, PostgreSQL must run as the postgres system user (the postgresql-15 package creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: the postgres user's ids %q/%q: %w", u.Uid, u.Gid, err)
	}
	return &serverOwner{uid: uint32(uid), gid: uint32(gid)}, nil
}

// chown gives path to the server's user.
func (o *serverOwner) chown(path string) error {
	if o == nil {
		return nil
	}
	if err := os.Chown(path, int(o.uid), int(o.gid)); err != nil {
		return fmt.Errorf("pgtest: give %s to the postgres user: %w", path, err)
	}
	return nil
}

// sysProcAttr runs a child as the server's user; the postmaster (server)
// also gets a process group of its own, so that killGroup reaches its
// backends, and, on Linux, SIGKILL when the test binary dies.
func (o *serverOwner) sysProcAttr(server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if o != nil {
		a.Credential = &syscall.Credential{Uid: o.uid, Gid: o.gid, Groups: []uint32{}}
	}
	if server {
		a.Setpgid = true
		setPdeathsig(a)
	}
	return a
}

// The signals of PostgreSQL's fast and immediate shutdowns.
var (
	sigFast      os.Signal = syscall.SIGINT
	sigImmediate os.Signal = syscall.SIGQUIT
)

func signalProc(p *postmaster, sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// killGroup sends SIGKILL to the postmaster and every backend: killing the
// postmaster alone would leave backends holding the shared memory that a
// restart needs.
func killGroup(p *postmaster) {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
