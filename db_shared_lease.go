package livedb

import (
	"context"
	"encoding/hex"
	"log/slog"
	"time"
)

// leaseTTL is how long a process holds a singleton role without renewing
// it: after its holder dies, another process takes the role over within
// about this long.
const leaseTTL = 5 * time.Second

// sharedSingleton runs run while this process holds the lease on role in
// the shared log, until ctx ends: it tries to take the lease every third
// of leaseTTL, starts run when it has it, renews it as often, and cancels
// run's context when a renewal fails or is late enough that another
// process may take the lease over. Correctness must not rest on the lease
// (a paused process may run on briefly after losing it): the roles' work
// is transactional, so that two runs at once waste work but double
// nothing.
func (db *DB) sharedSingleton(ctx context.Context, role string, run func(ctx context.Context)) {
	holder := hex.EncodeToString(db.shared.nonce)
	log := db.shared.log
	every := leaseTTL / 3
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), every)
		defer cancel()
		_ = log.releaseLease(rctx, role, holder)
	}()
	try := func() (bool, error, time.Time) {
		start := time.Now()
		lctx, cancel := context.WithTimeout(ctx, every)
		defer cancel()
		held, err := log.tryLease(lctx, role, holder, leaseTTL)
		if err != nil && ctx.Err() == nil {
			db.opts.Logger.Warn("livedb: taking or renewing a lease failed", slog.String("role", role), slog.Any("error", err))
		}
		return held && err == nil, err, start
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		held, _, since := try()
		if !held {
			timer.Reset(every)
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			run(rctx)
		}()
		db.holdLease(ctx, since, done, try)
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
		timer.Reset(every)
	}
}

// holdLease renews a lease taken at since until run is done, ctx ends, or
// the lease is lost: not renewed for two thirds of its time, so that run
// is told to stop before another process can take it.
func (db *DB) holdLease(ctx context.Context, since time.Time, done <-chan struct{}, try func() (bool, error, time.Time)) {
	every := leaseTTL / 3
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		held, err, start := try()
		switch {
		case held:
			since = start
		case err == nil: // another process holds it
			return
		case time.Since(since) >= 2*every:
			return
		}
	}
}
