package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/coder/websocket"
)

// connection is one WebSocket connection of a Client. Messages are queued
// under Client.mu, in the order they must reach the server, and its
// writer goroutine sends them.
type connection struct {
	ws         *websocket.Conn
	ctx        context.Context // ended when the connection is to go
	cancel     context.CancelFunc
	out        [][]byte      // guarded by Client.mu
	wake       chan struct{} // capacity 1: out grew
	failed     error         // the writer's error; read after writerDone
	writerDone chan struct{}
}

// sendLocked queues a message on the current connection; without one it
// is dropped: a connection starts by sending the whole state again.
func (c *Client) sendLocked(b []byte) {
	if c.conn == nil {
		return
	}
	c.conn.out = append(c.conn.out, b)
	select {
	case c.conn.wake <- struct{}{}:
	default:
	}
}

// run keeps the client connected until Close: it opens a session, and
// after each one ends, waits for the backoff and opens the next. The
// first session's failure before it synced ends the client (Dial
// returns it).
func (c *Client) run() {
	defer c.wg.Done()
	attempt := 0
	ready := false
	for {
		synced, err := c.session(&ready)
		if c.ctx.Err() != nil {
			if !ready {
				c.ready <- ErrClosed
			}
			return
		}
		if !ready {
			c.ready <- err
			return
		}
		if synced {
			attempt = 0
		}
		wait := c.backoff(attempt)
		attempt++
		c.log.Warn("livedb remote: connection lost; reconnecting", "url", c.base.String(), "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
}

// backoff is the wait before reconnection attempt n (from 0): MinBackoff
// doubled n times, at most MaxBackoff, with ±50% jitter.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.MaxBackoff
	if n < 30 {
		d = min(c.opts.MinBackoff<<n, c.opts.MaxBackoff)
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// session runs one connection: it dials, sends the client's state again
// (Connect, Authenticate, the whole query set, the mutations without an
// answer), and handles the server's messages until the connection fails.
// synced says whether a Transition arrived; ready is set at the client's
// first Transition.
func (c *Client) session(ready *bool) (synced bool, err error) {
	tok, err := c.token(c.ctx)
	if err != nil {
		return false, err
	}
	dctx, cancel := context.WithTimeout(c.ctx, c.opts.IdleTimeout)
	ws, _, err := websocket.Dial(dctx, c.syncURL, &websocket.DialOptions{HTTPClient: c.http})
	cancel()
	if err != nil {
		return false, &TransportError{Op: "dial", URL: c.syncURL, kind: ErrDisconnected, Err: err}
	}
	ws.SetReadLimit(c.opts.MaxMessageBytes + 1) // our own check below names the limit
	conn := &connection{ws: ws, wake: make(chan struct{}, 1), writerDone: make(chan struct{})}
	conn.ctx, conn.cancel = context.WithCancel(c.ctx)
	c.mu.Lock()
	c.startLocked(conn, tok)
	c.mu.Unlock()
	go c.write(conn)

	err = c.readLoop(conn, &synced, ready)

	conn.cancel()
	<-conn.writerDone
	if errors.Is(err, context.Canceled) && conn.failed != nil {
		err = conn.failed // the writer's failure ended the reads
	}
	_ = ws.CloseNow()
	c.mu.Lock()
	c.conn = nil
	if c.ctx.Err() == nil && *ready {
		c.disconnectedLocked(err)
	}
	c.mu.Unlock()
	return synced, err
}

// startLocked installs conn and queues the messages that bring a new
// session to the client's state, as Convex's client does on (re)connect.
func (c *Client) startLocked(conn *connection, token string) {
	c.conn = conn
	c.server = stateVersion{}
	c.connCount++
	var lastClose *string
	if c.connCount > 1 {
		lastClose = &c.lastClose
	}
	connect := connectMessage{Type: "Connect", SessionID: c.sessionID, ConnectionCount: c.connCount - 1, LastCloseReason: lastClose}
	if c.maxTS > 0 {
		ts := encodeTS(c.maxTS)
		connect.MaxObservedTimestamp = &ts
	}
	c.sendLocked(mustMarshal(connect))
	c.identity = 0
	if token != "" {
		c.sendLocked(mustMarshal(authenticateMessage{Type: "Authenticate", BaseVersion: 0, TokenType: "User", Value: token}))
		c.identity = 1
	}
	mods := []any{}
	for _, id := range sortedKeys(c.queries) {
		mods = append(mods, c.queries[id].add())
	}
	c.sendLocked(mustMarshal(modifyQuerySet{Type: "ModifyQuerySet", BaseVersion: 0, NewVersion: 1, Modifications: mods}))
	c.querySet = 1
	for _, id := range sortedKeys(c.mutations) {
		c.sendLocked(c.mutations[id].msg)
	}
}

func sortedKeys[V any](m map[uint32]V) []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// disconnectedLocked tells every subscription that has had a result that
// the connection is lost, and forgets what they were sent, so that the
// result after reconnection is delivered even if it did not change.
func (c *Client) disconnectedLocked(err error) {
	c.lastClose = err.Error()
	var te *TransportError
	var ae *AuthError
	if !errors.As(err, &te) && !errors.As(err, &ae) {
		err = &TransportError{Op: "read", URL: c.syncURL, kind: ErrDisconnected, Err: err}
	}
	for _, id := range sortedKeys(c.queries) {
		q := c.queries[id]
		if !q.gotFirst {
			continue
		}
		q.last, q.hasLast = nil, false
		q.sub.deliver(Update{Err: err, Timestamp: c.server.ts})
	}
}

// write sends the queued messages of conn in order until it ends.
func (c *Client) write(conn *connection) {
	defer close(conn.writerDone)
	for {
		c.mu.Lock()
		out := conn.out
		conn.out = nil
		c.mu.Unlock()
		for _, b := range out {
			wctx, cancel := context.WithTimeout(conn.ctx, c.opts.IdleTimeout)
			err := conn.ws.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				if conn.ctx.Err() == nil {
					conn.failed = &TransportError{Op: "write", URL: c.syncURL, kind: ErrDisconnected, Err: err}
				}
				conn.cancel()
				return
			}
		}
		select {
		case <-conn.wake:
		case <-conn.ctx.Done():
			return
		}
	}
}

// readLoop reads and handles the server's messages until the connection
// fails; its error says why.
func (c *Client) readLoop(conn *connection, synced, ready *bool) error {
	for {
		b, err := c.readMessage(conn)
		if err != nil {
			return err
		}
		m, err := parseServerMessage(b)
		if err != nil {
			c.log.Warn("livedb remote: refused a message of the server", "url", c.syncURL, "err", err)
			return &TransportError{Op: "read", URL: c.syncURL, kind: ErrProtocol, Err: err}
		}
		if err := c.handle(m, synced, ready); err != nil {
			return err
		}
	}
}

// readMessage reads one message, within the idle timeout and the size
// limit.
func (c *Client) readMessage(conn *connection) ([]byte, error) {
	rctx, cancel := context.WithTimeout(conn.ctx, c.opts.IdleTimeout)
	defer cancel()
	typ, r, err := conn.ws.Reader(rctx)
	if err != nil {
		if errors.Is(rctx.Err(), context.DeadlineExceeded) && conn.ctx.Err() == nil {
			err = fmt.Errorf("the server sent nothing for %v (Options.IdleTimeout): %w", c.opts.IdleTimeout, err)
		}
		return nil, &TransportError{Op: "read", URL: c.syncURL, kind: ErrDisconnected, Err: err}
	}
	limit := c.opts.MaxMessageBytes
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &TransportError{Op: "read", URL: c.syncURL, kind: ErrDisconnected, Err: err}
	}
	if int64(len(b)) > limit {
		return nil, &TransportError{Op: "read", URL: c.syncURL, kind: ErrProtocol,
			Err: fmt.Errorf("a message is larger than %d bytes (Options.MaxMessageBytes)", limit)}
	}
	if typ != websocket.MessageText {
		return nil, &TransportError{Op: "read", URL: c.syncURL, kind: ErrProtocol, Err: errors.New("a binary message: the sync protocol sends JSON text")}
	}
	return b, nil
}

// handle applies one message of the server.
func (c *Client) handle(m *serverMessage, synced, ready *bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.kind {
	case "Transition":
		if err := c.transitionLocked(m); err != nil {
			return &TransportError{Op: "read", URL: c.syncURL, kind: ErrProtocol, Err: err}
		}
		if m.end.querySet < 1 || m.end.identity < c.identity {
			return nil // the server has not seen the whole state yet
		}
		*synced = true
		if !*ready {
			*ready = true
			c.ready <- nil
		}
	case "MutationResponse":
		p, ok := c.mutations[m.requestID]
		if !ok {
			return nil // abandoned by its caller, or answered again after a reconnect
		}
		if !m.success {
			p.err = newFunctionError(p.name, m.errorMsg)
			c.finishLocked(m.requestID, p)
			return nil
		}
		p.answered, p.result, p.ts = true, m.result, m.ts
		if c.server.ts >= p.ts {
			c.finishLocked(m.requestID, p)
		}
	case "AuthError":
		return &AuthError{Message: m.errorMsg}
	case "FatalError":
		return &TransportError{Op: "read", URL: c.syncURL, kind: ErrProtocol, Err: fmt.Errorf("the server ended the session: %s", m.errorMsg)}
	}
	return nil
}

// transitionLocked applies a Transition: it must start where the last
// one ended.
func (c *Client) transitionLocked(m *serverMessage) error {
	if m.start != c.server {
		return fmt.Errorf("a Transition starts at version %+v, but the client is at %+v", m.start, c.server)
	}
	if m.end.querySet > c.querySet || m.end.identity > c.identity {
		return fmt.Errorf("a Transition ends at version %+v, past what the client sent (query set %d, identity %d)", m.end, c.querySet, c.identity)
	}
	for _, mod := range m.mods {
		q, ok := c.queries[mod.queryID]
		if !ok || mod.kind == "QueryRemoved" {
			continue // removed by the client, the server may not know yet
		}
		q.journal = mod.journal
		var u Update
		var key []byte
		if mod.kind == "QueryUpdated" {
			u = Update{Value: mod.value, Timestamp: m.end.ts}
			key = append([]byte("v:"), mod.raw...)
		} else {
			fe := newFunctionError(q.path, mod.errMsg)
			u = Update{Err: fe, Timestamp: m.end.ts}
			key = []byte("e:" + mod.errMsg)
			if !q.gotFirst && fe.notFound {
				q.firstErr = fe
			}
		}
		if q.hasLast && string(key) == string(q.last) {
			continue
		}
		q.last, q.hasLast = key, true
		q.sub.deliver(u)
		if !q.gotFirst {
			q.gotFirst = true
			close(q.first)
		}
	}
	c.server = m.end
	c.maxTS = max(c.maxTS, m.end.ts)
	for _, id := range sortedKeys(c.mutations) {
		if p := c.mutations[id]; p.answered && p.ts <= c.server.ts {
			c.finishLocked(id, p)
		}
	}
	return nil
}

// finishLocked ends the call of mutation id.
func (c *Client) finishLocked(id uint32, p *pendingMutation) {
	delete(c.mutations, id)
	close(p.done)
}
