package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

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

	legendShown bool
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

// legend explains the marks of progressLine; draw prints it once, above
// the progress lines.
const legend = "P planner, C coder, R reviewer: ✓ done, ↺ sent back to the coder, ▶ running (agent), · pending, ✗ failed, – cancelled"

// draw shows the progress.
func (mon *monitor) draw(ps []model.Progress, o *orchestrator) {
	if !mon.legendShown {
		mon.legendShown = true
		fmt.Fprintln(mon.out, legend)
	}
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
		time.Since(mon.start).Seconds(), o.stats.sessions.Load(), o.mutations(), o.conflicts())
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
	line := fmt.Sprintf("#%d %-*s %-11s %s", i+1, taskWidth, cutWords(p.Task, taskWidth), p.Status, strings.Join(steps, " "))
	if p.Status == model.WorkflowFailed && p.Error != nil {
		line += " (" + *p.Error + ")"
	}
	return line
}

// taskWidth is the width, in characters, of the task column of a progress
// line.
const taskWidth = 36

// cutWords returns s if it has at most n characters, and otherwise its
// longest prefix that ends at a word boundary and leaves room for "…",
// followed by "…": "Migrate settings to the new schema (2)" cut at 36 is
// "Migrate settings to the new schema…". A first word longer than n-1
// characters is cut inside the word, as there is no boundary to cut at.
func cutWords(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	keep := r[:n-1]
	// A boundary: the character after keep is a space, or keep ends in one.
	if !unicode.IsSpace(r[n-1]) {
		if i := lastSpace(keep); i > 0 {
			keep = keep[:i]
		}
	}
	return strings.TrimRightFunc(string(keep), unicode.IsSpace) + "…"
}

// lastSpace returns the index of the last space of r, or -1.
func lastSpace(r []rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if unicode.IsSpace(r[i]) {
			return i
		}
	}
	return -1
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
