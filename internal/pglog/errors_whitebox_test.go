package pglog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// safeErr is an error that pgconn.SafeToRetry reports as sent before
// anything reached the server.
type safeErr struct{}

func (safeErr) Error() string     { return "not sent" }
func (safeErr) SafeToRetry() bool { return true }

func TestCommitError_Outcomes(t *testing.T) {
	tests := []struct {
		name            string
		err             error
		wantUnknown     bool
		wantUnavailable bool
	}{
		{"rolled back", pgx.ErrTxCommitRollback, false, false},
		{"refused by a constraint", &pgconn.PgError{Severity: "ERROR", Code: "23505"}, false, false},
		{"serialization failure", &pgconn.PgError{Severity: "ERROR", Code: "40001"}, false, false},
		{"not sent, connection gone", fmt.Errorf("x: %w %w", safeErr{}, pgconn.ErrConnClosed), false, true},
		{"admin shutdown", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true, true},
		{"fatal, other code", &pgconn.PgError{Severity: "FATAL", Code: "XX000"}, true, true},
		{"connection reset", io.ErrUnexpectedEOF, true, true},
		{"context ended after sending", context.Canceled, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := commitError(tc.err)
			if got := errors.Is(err, ErrOutcomeUnknown); got != tc.wantUnknown {
				t.Errorf("commitError(%v) = %v: outcome unknown %v, want %v", tc.err, err, got, tc.wantUnknown)
			}
			if got := errors.Is(err, ErrUnavailable); got != tc.wantUnavailable {
				t.Errorf("commitError(%v) = %v: unavailable %v, want %v", tc.err, err, got, tc.wantUnavailable)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("commitError(%v) = %v does not wrap the cause", tc.err, err)
			}
		})
	}
}

func TestWrap_Unavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true},                    // admin_shutdown
		{&pgconn.PgError{Code: "57P03"}, true},                    // cannot_connect_now
		{&pgconn.PgError{Code: "08006"}, true},                    // connection_failure
		{&pgconn.PgError{Code: "53300"}, true},                    // too_many_connections
		{&pgconn.PgError{Code: "57014"}, false},                   // query_canceled
		{&pgconn.PgError{Severity: "FATAL", Code: "25P03"}, true}, // idle in transaction too long
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "42P01"}, false},
		{io.EOF, true},
		{pgconn.ErrConnClosed, true},
		{context.Canceled, false},
		{errors.New("something else"), false},
	}
	for _, tc := range tests {
		err := wrap("op", tc.err)
		if got := errors.Is(err, ErrUnavailable); got != tc.want {
			t.Errorf("wrap(%v): unavailable %v, want %v", tc.err, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("wrap(%v) = %v does not wrap the cause", tc.err, err)
		}
	}
	if wrap("op", nil) != nil {
		t.Error("wrap of nil is not nil")
	}
}

func TestLog_ShouldPing_AfterLoss(t *testing.T) {
	var l Log
	ctx := context.Background()
	fresh := pgxpool.ShouldPingParams{IdleDuration: 10 * time.Millisecond}
	if l.shouldPing(ctx, fresh) {
		t.Fatal("a connection idle for 10ms is pinged with no loss seen")
	}
	if !l.shouldPing(ctx, pgxpool.ShouldPingParams{IdleDuration: 2 * time.Second}) {
		t.Fatal("a connection idle for 2s is not pinged")
	}
	l.lost(wrap("op", io.EOF))
	if !l.shouldPing(ctx, fresh) {
		t.Fatal("a connection released before the loss is not pinged")
	}
	l.lastLoss.Store(time.Now().Add(-time.Second).UnixNano())
	if l.shouldPing(ctx, fresh) {
		t.Fatal("a connection released after the loss is pinged")
	}
}
