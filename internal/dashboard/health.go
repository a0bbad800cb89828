package dashboard

import (
	"net/http"
	"time"
)

// healthReply is the answer of GET /api/health: the counters of
// [livedb.DB.Stats] since the database was opened, and when they were
// read, from which the page computes rates between two polls.
type healthReply struct {
	// Now is when the counters were read, in Unix milliseconds.
	Now int64 `json:"now"`
	// Timestamp is the last commit.
	Timestamp      uint64            `json:"timestamp,string"`
	Commits        uint64            `json:"commits"`
	Groups         uint64            `json:"groups"`
	MaxGroup       int               `json:"maxGroup"`
	CommitMicros   int64             `json:"commitMicros"`
	Retries        uint64            `json:"retries"`
	Alone          uint64            `json:"alone"`
	ConflictErrors uint64            `json:"conflictErrors"`
	Conflicts      map[string]uint64 `json:"conflicts"`
	Subscriptions  int               `json:"subscriptions"`
}

// health answers GET /api/health.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	st := h.db.Stats()
	writeJSON(w, http.StatusOK, healthReply{
		Now:            time.Now().UnixMilli(),
		Timestamp:      h.db.LastTimestamp(),
		Commits:        st.Commits,
		Groups:         st.Groups,
		MaxGroup:       st.MaxGroup,
		CommitMicros:   st.CommitTime.Microseconds(),
		Retries:        st.Retries,
		Alone:          st.Alone,
		ConflictErrors: st.ConflictErrors,
		Conflicts:      st.Conflicts,
		Subscriptions:  st.Subscriptions,
	})
}
