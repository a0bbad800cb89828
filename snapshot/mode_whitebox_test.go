package snapshot

import (
	"testing"

	"github.com/livedb-go/livedb/internal/engine"
)

// TestMode_EngineValues checks that each Mode converts to the engine's mode
// of the same meaning, as Import and ImportTable convert them.
func TestMode_EngineValues(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		want engine.ImportMode
	}{
		{RequireEmpty, engine.ImportRequireEmpty},
		{Replace, engine.ImportReplace},
		{Append, engine.ImportAppend},
	} {
		if got := engine.ImportMode(tc.mode); got != tc.want {
			t.Errorf("engine.ImportMode(%v) = %d, want %d", tc.mode, got, tc.want)
		}
	}
}
