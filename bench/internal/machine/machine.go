// Package machine reads what the bench commands report about the machine
// they ran on.
package machine

import (
	"os"
	"strings"
)

// LoadAvg returns the 1, 5 and 15 minute load averages (the first three
// fields of /proc/loadavg), or "unknown" where there is none.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
