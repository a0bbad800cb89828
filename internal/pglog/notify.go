package pglog

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timing of the LISTEN connection.
const (
	// listenBackoffMin and listenBackoffMax bound the wait between two
	// attempts to connect the listener: it doubles from the first to the
	// second while the server stays away.
	listenBackoffMin = 10 * time.Millisecond
	listenBackoffMax = time.Second
	// listenPingEvery is how long the listener waits for a notification
	// before it checks that its connection still answers: a connection
	// can die without an error (a half-open TCP connection).
	listenPingEvery = 15 * time.Second
	listenPingWait  = 10 * time.Second
)

// Notify returns a channel that receives after each commit of any process
// to this log (PostgreSQL's NOTIFY, sent by [Appender.Commit]) and once
// after every connection of the Log's dedicated LISTEN connection, the
// first included: notifications sent while it was disconnected are lost,
// so a follower must read the log after each receive. The channel has a
// buffer of 1 and is sent to without blocking, so receives coalesce: one
// receive may stand for many commits. A notification only says "look
// now"; the log itself is the truth, and a follower should also poll
// [Log.Head] now and then in case notifications stop.
//
// The first call starts the listener; it reconnects by itself, with
// backoff, until Close. Every call returns the same channel, which is
// never closed.
func (l *Log) Notify() <-chan struct{} {
	l.listenMu.Lock()
	defer l.listenMu.Unlock()
	if !l.started && !l.closed.Load() {
		l.started = true
		l.listening.Add(1)
		go l.listen()
	}
	return l.notify
}

// wake signals the Notify channel without blocking.
func (l *Log) wake() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// listen keeps a LISTEN connection until Close.
func (l *Log) listen() {
	defer l.listening.Done()
	backoff := listenBackoffMin
	for {
		connected := l.listenConn()
		if connected {
			backoff = listenBackoffMin
		}
		if l.ctx.Err() != nil {
			return
		}
		l.lastLoss.Store(time.Now().UnixNano())
		t := time.NewTimer(backoff)
		select {
		case <-l.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenConn connects, listens, and wakes the channel for every
// notification until the connection fails or the Log closes. It reports
// whether it got as far as listening.
func (l *Log) listenConn() (connected bool) {
	conn, err := pgx.ConnectConfig(l.ctx, l.listenConf.Copy())
	if err != nil {
		return false
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), listenPingWait)
		defer cancel()
		_ = conn.Close(ctx)
	}()
	if _, err := conn.Exec(l.ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false
	}
	l.wake()
	for {
		ctx, cancel := context.WithTimeout(l.ctx, listenPingEvery)
		_, err := conn.WaitForNotification(ctx)
		timedOut := ctx.Err() != nil && l.ctx.Err() == nil
		cancel()
		switch {
		case err == nil:
			l.wake()
		case l.ctx.Err() != nil:
			return true
		case timedOut && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(l.ctx, listenPingWait)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true
			}
		default:
			return true
		}
	}
}
