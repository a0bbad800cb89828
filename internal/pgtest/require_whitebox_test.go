package pgtest

import (
	"errors"
	"fmt"
	"testing"
)

func TestRequire_Skip_OnlyOutsideCI(t *testing.T) {
	missing := fmt.Errorf("%w in /nowhere", ErrNotInstalled)
	other := errors.New("pgtest: initdb failed")
	tests := []struct {
		name     string
		ci       string
		err      error
		wantSkip bool
	}{
		{"missing binaries, no CI", "", missing, true},
		{"missing binaries, CI=false", "false", missing, true},
		{"missing binaries, CI=true", "true", missing, false},
		{"other failure, no CI", "", other, false},
		{"other failure, CI=true", "true", other, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			if got := skip(tc.err); got != tc.wantSkip {
				t.Fatalf("skip(%v) with CI=%q = %v, want %v", tc.err, tc.ci, got, tc.wantSkip)
			}
		})
	}
}
