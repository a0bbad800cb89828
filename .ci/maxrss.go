//go:build ignore

// Maxrss runs a command and fails when the largest process of the run (the
// command or any descendant it waited for) held more than -limit MiB of
// memory resident at its peak: the "Maximum resident set size" that
// /usr/bin/time -v reports, with Go alone. It exits with the command's
// status when the command fails.
//
//	go run .ci/maxrss.go -limit 1024 -- go test -race ./...
//
// go test runs up to GOMAXPROCS test binaries at once, so a limit of 1 GiB
// on each keeps the tests of a 2-core runner under 2 GiB. Linux and macOS
// only (the peak comes from wait4's rusage).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	limit := flag.Int64("limit", 1024, "the largest peak resident set size allowed for one process, in MiB")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run .ci/maxrss.go [-limit MiB] -- command [arg...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	args := flag.Args()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintf(os.Stderr, "maxrss: %v\n", err)
		os.Exit(2)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintf(os.Stderr, "maxrss: no resource usage on %s\n", runtime.GOOS)
		os.Exit(2)
	}
	peak := ru.Maxrss << 10 // kilobytes on Linux
	if runtime.GOOS == "darwin" {
		peak = ru.Maxrss // bytes on macOS
	}
	peakMiB := peak >> 20
	fmt.Fprintf(os.Stderr, "maxrss: the largest process of %q peaked at %d MiB resident (limit %d MiB)\n",
		strings.Join(args, " "), peakMiB, *limit)
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		os.Exit(code)
	}
	if peakMiB > *limit {
		fmt.Fprintf(os.Stderr, "maxrss: %d MiB is over the limit of %d MiB: find the test that grew with -run and -test.memprofile\n",
			peakMiB, *limit)
		os.Exit(1)
	}
}
