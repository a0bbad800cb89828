package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/livedb-go/livedb"
)

// SetPingInterval sets how often s's sessions ping when idle, for tests.
// Sessions opened after the call use it.
func SetPingInterval(s *Server, d time.Duration) { s.pingInterval = d }

// SetDashboard makes the servers built after the call mount h as their
// dashboard instead of package dashboard's; it returns a function that
// restores the real one.
func SetDashboard(h http.Handler) (restore func()) {
	real := newDashboard
	newDashboard = func(*livedb.DB, *livedb.Registry, string, *slog.Logger) http.Handler { return h }
	return func() { newDashboard = real }
}
