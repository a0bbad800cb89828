package livedb

import (
	"fmt"
	"slices"
	"strings"
)

// strictTables returns the declared tables when reads and writes are
// limited to them: the database has a schema that declares tables, and
// undeclared tables are not allowed. It returns nil otherwise.
func strictTables(s *Schema, o *Options, stored bool) map[string]bool {
	if stored || o.AllowUndeclaredTables || s == nil || len(s.tables) == 0 {
		return nil
	}
	m := make(map[string]bool, len(s.tables))
	for name := range s.tables {
		m[name] = true
	}
	return m
}

// checkDeclared returns an error when the schema is strict and does not
// declare table name. The error lists the declared tables and suggests the
// nearest one.
func (db *DB) checkDeclared(name string) error {
	if db.declared == nil || db.declared[name] {
		return nil
	}
	names := make([]string, 0, len(db.declared))
	for n := range db.declared {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "the schema declares %s", strings.Join(names, ", "))
	if near := nearestName(name, names); near != "" {
		fmt.Fprintf(&b, "; did you mean %q?", near)
	}
	b.WriteString(" (add the table to the schema, or open with Options.AllowUndeclaredTables)")
	return fmt.Errorf("%s", b.String())
}

// nearestName returns the name closest to s by edit distance, when it is
// close enough to be a likely typo: at most a third of its length, and at
// least one edit, away.
func nearestName(s string, names []string) string {
	best, bestD := "", len(s)/3+1
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment) between a and b, in bytes: insertions, deletions,
// substitutions and transpositions of neighbours cost one each.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
