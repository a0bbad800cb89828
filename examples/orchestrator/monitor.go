package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/livedb-go/livedb/model"
)

// monitor draws a progress line per workflow. On a terminal it redraws the
// lines in place with ANSI cursor movement; otherwise it prints a line
// when it changes.
type monitor struct {
	out   io.Writer
	tty   bool
	start time.Time
	drawn int               // lines drawn on the terminal
	last  map[string]string // workflow -> last line printed (not a terminal)
}

func newMonitor(out io.Writer) *monitor {
	return &monitor{out: out, tty: isTerminal(out), start: time.Now(), last: map[string]string{}}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// draw shows the progress.
func (mon *monitor) draw(ps []model.Progress, o *orchestrator) {
	if !mon.tty {
		for i, p := range ps {
			line := progressLine(i, p)
			if mon.last[string(p.WorkflowID)] != line {
				mon.last[string(p.WorkflowID)] = line
				fmt.Fprintf(mon.out, "%6.2fs %s\n", time.Since(mon.start).Seconds(), line)
			}
		}
		return
	}
	var b strings.Builder
	if mon.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", mon.drawn) // back to the first line
	}
	for i, p := range ps {
		b.WriteString("\x1b[2K" + progressLine(i, p) + "\n")
	}
	fmt.Fprintf(&b, "\x1b[2K%6.2fs · %d sessions done · %d mutations · %d conflicts retried\n",
		time.Since(mon.start).Seconds(), o.stats.sessions.Load(), o.stats.mutations.Load(), o.stats.retries.Load())
	mon.drawn = len(ps) + 1
	io.WriteString(mon.out, b.String())
}

// progressLine is one workflow: its number, task, status and the history
// of its sessions, e.g.
//
//	#2 Cache the user profile lookups   in_progress  P✓ C✓ R↺ C▶coder-2
func progressLine(i int, p model.Progress) string {
	var steps []string
	for _, s := range p.Sessions {
		steps = append(steps, sessionMark(s))
	}
	line := fmt.Sprintf("#%d %-36.36s %-11s %s", i+1, p.Task, p.Status, strings.Join(steps, " "))
	if p.Status == model.WorkflowFailed && p.Error != nil {
		line += " (" + *p.Error + ")"
	}
	return line
}

// sessionMark is a session's letter and state: ✓ done (↺ for a review
// that sent the work back), ▶ running, · pending, ✗ failed, – cancelled.
func sessionMark(s model.SessionSummary) string {
	letter := strings.ToUpper(string(s.AgentType[:1]))
	switch s.Status {
	case model.SessionCompleted:
		if s.Approved != nil && !*s.Approved {
			return letter + "↺"
		}
		return letter + "✓"
	case model.SessionRunning:
		agent := ""
		if s.AgentID != nil {
			agent = *s.AgentID
		}
		return letter + "▶" + agent
	case model.SessionPending:
		return letter + "·"
	case model.SessionFailed:
		return letter + "✗"
	}
	return letter + "–"
}
