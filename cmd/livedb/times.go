package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// A time is stored as Convex stores a JavaScript Date, and as livedb's
// typed tables store a time.Time: a Float64 of milliseconds since the Unix
// epoch. Nothing in a document or its schema (v.Float64()) says that a
// number is a time, so the command does not guess from the field name:
// -time-fields names the fields to print as times.

const timeFieldsUsage = "print these top-level `fields` (comma-separated, repeatable) as times: numbers of milliseconds since the Unix epoch, shown in RFC 3339, UTC"

const timeFieldsDetail = `
-time-fields names top-level fields that hold times (Float64 milliseconds
since the Unix epoch, as Date.now() returns and typed tables store a
time.Time): they are printed in RFC 3339, UTC, to the millisecond. The schema
only says such a field is a number, so the command does not guess; a value
that is not a number in a Date's range is printed as it is. --json output is
unchanged: it keeps the numbers.`

// maxDateMillis is the range of a JavaScript Date either side of the epoch.
const maxDateMillis = 8.64e15

// timeFields is the set of fields of -time-fields.
type timeFields map[string]bool

func (tf *timeFields) String() string {
	if tf == nil {
		return ""
	}
	var names []string
	for n := range *tf {
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

func (tf *timeFields) Set(s string) error {
	if *tf == nil {
		*tf = timeFields{}
	}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return fmt.Errorf("want field names separated by commas, got %q", s)
		case strings.Contains(name, "."):
			return fmt.Errorf("%q: only top-level fields can be printed as times", name)
		}
		(*tf)[name] = true
	}
	return nil
}

// format returns the time that the value x of field holds, when field is
// one of the set and x is a number of milliseconds in a Date's range.
func (tf timeFields) format(field string, x any) (string, bool) {
	if !tf[field] {
		return "", false
	}
	var ms float64
	switch n := x.(type) {
	case float64:
		ms = n
	case int64:
		ms = float64(n)
	default:
		return "", false
	}
	if !(math.Abs(ms) <= maxDateMillis) { // also NaN
		return "", false
	}
	whole := math.Floor(ms)
	t := time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms - whole) * 1e6)))
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00"), true
}
