// Package cronspec parses the five-field cron syntax that Convex's
// crons.cron takes ("minute hour day-of-month month day-of-week", in UTC)
// and finds the times a spec names.
//
// Each field is "*", a number, a range "a-b", a step "*/n", "a-b/n" or
// "a/n" (from a to the field's end), or a comma-separated list of these.
// Months may be written JAN-DEC and days of the week SUN-SAT (case
// insensitive); day of the week 7 is Sunday, like 0. As in Vixie cron,
// when both the day of the month and the day of the week are restricted
// (neither is "*"), a day matches when either does.
package cronspec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("bad cron spec")

// Spec is a parsed cron spec: the set of minutes, hours, days, months and
// weekdays it allows, as bit sets.
type Spec struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
	text                          string
}

// String returns the spec as it was parsed.
func (s *Spec) String() string { return s.text }

// field is the range of one field of a spec.
type field struct {
	name     string
	min, max int
	names    []string // names of min, min+1, ...; nil when the field has none
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day of week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// Parse parses a five-field spec.
func Parse(text string) (*Spec, error) {
	parts := strings.Fields(text)
	if len(parts) != 5 {
		return nil, fmt.Errorf("%w %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", ErrSyntax, text, len(parts))
	}
	s := &Spec{text: text}
	sets := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, p := range parts {
		set, err := parseField(fields[i], p)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %s field %q: %w", ErrSyntax, text, fields[i].name, p, err)
		}
		*sets[i] = set
	}
	if s.dow&(1<<7) != 0 {
		s.dow |= 1 // 7 is Sunday too
	}
	s.domStar, s.dowStar = parts[2] == "*", parts[4] == "*"
	return s, nil
}

// parseField parses one field into the set of values it allows.
func parseField(f field, text string) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(text, ",") {
		lo, hi, step := f.min, f.max, 1
		rng, stepText, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q is not a positive number", stepText)
			}
			step = n
		}
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			hi = lo
			switch {
			case isRange:
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("range %q goes backwards", rng)
				}
			case hasStep:
				hi = f.max
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// value parses a number or a name of the field.
func (f field) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%d is outside %d-%d", n, f.min, f.max)
	}
	return n, nil
}

// searchLimit bounds how far Next looks: a spec such as "0 0 30 2 *"
// (February 30) names no time at all.
const searchLimit = 5 * 366 * 24 * time.Hour

// Next returns the first time the spec names strictly after t, in UTC,
// and false when there is none within five years.
func (s *Spec) Next(t time.Time) (time.Time, bool) {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	end := t.Add(searchLimit)
	for t.Before(end) {
		switch {
		case s.month&(1<<int(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case s.hour&(1<<t.Hour()) == 0:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case s.minute&(1<<t.Minute()) == 0:
			t = t.Add(time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

// dayMatches reports whether t's day is allowed: by the day of the month
// and the day of the week, either of them when both are restricted.
func (s *Spec) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if !s.domStar && !s.dowStar {
		return dom || dow
	}
	return dom && dow
}

// Count returns how many times the spec names in (after, until], up to
// limit.
func (s *Spec) Count(after, until time.Time, limit int) int {
	n := 0
	for n < limit {
		next, ok := s.Next(after)
		if !ok || next.After(until) {
			break
		}
		n++
		after = next
	}
	return n
}
