// Package proctest runs a test's other processes: the test binary re-runs
// itself as a child that executes one test function in a role named by an
// environment variable, and the parent and the child talk in lines. The
// parent writes commands to the child's standard input; the child answers
// with protocol lines on its standard output, each written with one
// write(2), so that a line cut short by a SIGKILL was never acknowledged.
//
// In the parent:
//
//	p := proctest.Start(t, "A", "TestX", "MY_ROLE=writer")
//	p.Send("insert %d", 7)
//	fields := p.Expect("inserted", time.Minute)
//
// In the child (the same test function, which checks the role first):
//
//	if os.Getenv("MY_ROLE") == "writer" {
//		for cmd := range proctest.Commands() {
//			proctest.Say("inserted %d", ...)
//		}
//		return
//	}
//
// A child whose standard input ends (the parent closed it, or died) must
// end; [Commands] is closed then.
package proctest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// prefix starts every protocol line, to tell it from the test framework's
// own output (PASS, === RUN, log lines).
const prefix = "@proc "

// childTimeout bounds a child's run (go test's -test.timeout): a child
// that the parent forgot panics instead of living on.
const childTimeout = 10 * time.Minute

// Proc is a child process seen from the parent. Its methods fail the test
// that started it; call them from that test's goroutine, except Kill and
// Lines, which any goroutine may call.
type Proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []string // protocol lines, as fields; closed at EOF
	exited chan struct{} // closed once cmd.Wait returned
	stderr lockedBuffer
	// Started is when Start started the process.
	Started time.Time

	mu      sync.Mutex
	waitErr error
	killed  bool
}

// Start starts the test binary as a child that runs test (a test function
// name, matched exactly) with env added to this process's environment.
// name names the child in messages. A t.Cleanup kills the child if it is
// still running and reports a data race it printed.
func Start(t testing.TB, name, test string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.timeout="+childTimeout.String())
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{t: t, name: name, cmd: cmd, lines: make(chan []string, 1<<16), exited: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("proctest: %s: stdin: %v", name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("proctest: %s: stdout: %v", name, err)
	}
	p.stdin = stdin
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("proctest: start %s: %v", name, err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.Kill()
		}
		if s := p.Stderr(); strings.Contains(s, "WARNING: DATA RACE") {
			t.Errorf("proctest: %s reported a data race:\n%s", name, s)
		}
	})
	return p
}

// read turns stdout's protocol lines into fields, then waits for the
// process.
func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			p.lines <- strings.Fields(line)
		}
	}
	close(p.lines)
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	p.mu.Unlock()
	close(p.exited)
}

// Name returns the name given to Start.
func (p *Proc) Name() string { return p.name }

// Pid returns the child's process ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stderr returns what the child wrote to its standard error so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Send writes one command line to the child.
func (p *Proc) Send(format string, args ...any) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, fmt.Sprintf(format, args...)+"\n"); err != nil {
		p.t.Fatalf("proctest: send to %s: %v; its stderr:\n%s", p.name, err, p.Stderr())
	}
}

// Next returns the child's next protocol line, as fields. A "fail" line
// fails the test with the child's message and standard error; so do the
// end of the output and timeout.
func (p *Proc) Next(timeout time.Duration) []string {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case f, ok := <-p.lines:
		if !ok {
			<-p.exited
			p.t.Fatalf("proctest: %s ended (%v) while a line was awaited; its stderr:\n%s", p.name, p.exitErr(), p.Stderr())
		}
		if len(f) > 0 && f[0] == "fail" {
			p.t.Fatalf("proctest: %s failed: %s; its stderr:\n%s", p.name, strings.Join(f[1:], " "), p.Stderr())
		}
		return f
	case <-timer.C:
		p.t.Fatalf("proctest: %s: no line after %v; its stderr:\n%s", p.name, timeout, p.Stderr())
	}
	panic("unreachable")
}

// Expect returns the child's next protocol line, which must start with
// kind; it returns the fields after kind.
func (p *Proc) Expect(kind string, timeout time.Duration) []string {
	p.t.Helper()
	f := p.Next(timeout)
	if len(f) == 0 || f[0] != kind {
		p.t.Fatalf("proctest: %s said %q, want a %q line", p.name, strings.Join(f, " "), kind)
	}
	return f[1:]
}

// Lines returns the channel of the child's protocol lines, for a caller
// that reads a stream of them; it is closed when the child's output ends.
// "fail" lines are not interpreted on it.
func (p *Proc) Lines() <-chan []string { return p.lines }

// Kill kills the child with SIGKILL and waits for it to end. It reports
// whether the child died of the signal (and not before, of its own).
func (p *Proc) Kill() bool {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	var exit *exec.ExitError
	if err := p.exitErr(); errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok {
			return ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
	}
	return false
}

// Exited returns a channel closed when the child has ended.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Stop closes the child's standard input, which tells it to end, and
// waits up to timeout for it to exit; it fails the test unless the child
// exits with status 0.
func (p *Proc) Stop(timeout time.Duration) {
	p.t.Helper()
	_ = p.stdin.Close()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.Kill()
		p.t.Fatalf("proctest: %s did not exit within %v of its input's end; its stderr:\n%s", p.name, timeout, p.Stderr())
	}
	if err := p.exitErr(); err != nil {
		p.t.Fatalf("proctest: %s exited with %v; its stderr:\n%s", p.name, err, p.Stderr())
	}
}

func (p *Proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// lockedBuffer is a strings.Builder safe for the writer goroutine of
// exec.Cmd and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The child's side.

var sayMu sync.Mutex

// Say writes one protocol line to standard output with a single write, so
// that a kill cannot leave half of it behind as a whole line.
func Say(format string, args ...any) {
	line := prefix + fmt.Sprintf(format, args...) + "\n"
	sayMu.Lock()
	defer sayMu.Unlock()
	_, _ = os.Stdout.WriteString(line) // os.Stdout is unbuffered
}

// Fail says "fail" with a message, which fails the parent's test.
func Fail(format string, args ...any) {
	Say("fail "+format, args...)
}

// Commands returns the command lines the parent sends, as fields; the
// channel is closed when standard input ends.
func Commands() <-chan []string {
	ch := make(chan []string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 {
				ch <- f
			}
		}
	}()
	return ch
}
