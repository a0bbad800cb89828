package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
)

// Per-session bounds. A session that goes past them is told so and
// closed, or (the backlog) stops reading until it shrinks.
const (
	// maxQueries is how many queries one session may watch.
	maxQueries = 10000
	// maxBacklog is how many mutations may wait in one session before the
	// session stops reading the client's messages (TCP then holds the
	// client back).
	maxBacklog = 1000
	// maxSessionIDBytes bounds the client's session id.
	maxSessionIDBytes = 128
)

// session is one WebSocket client of the sync protocol.
//
// One goroutine (run, on the handler's goroutine) owns the session's
// state and is the only writer to the connection; a reader goroutine
// parses the client's messages into in; the mutation queue runs
// mutations; and the subscriptions' callbacks, on the DB's goroutines,
// store each query's newest result. Everything the other goroutines hand
// to run goes through mu and a wake-up of wake, which never blocks: a
// result that arrives while run is busy (writing to a slow client)
// replaces the one before it.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	remote string
	ctx    context.Context // the session's work: subscriptions, mutations
	cancel context.CancelFunc
	// readCtx is the reader's, cancelled only once the connection is
	// closed: cancelling a read makes the library drop the connection at
	// once, before a FatalError could be sent.
	readCtx    context.Context
	readCancel context.CancelFunc

	in   chan *clientMessage // from the reader
	wake chan struct{}       // capacity 1: something was handed over under mu
	quit chan struct{}       // closed by shutdown
	once sync.Once           // closes quit
	mq   mutationQueue
	wg   sync.WaitGroup // the reader and the mutation worker

	mu          sync.Mutex
	fresh       []*querySub     // subscriptions with a result not yet sent
	done        []*mutationDone // answered mutations, in order
	readFailure error           // why the reader stopped
	// running is set while a mutation of the session runs and is not yet
	// answered; runningAfter is the DB's timestamp when it started. Its
	// commit is later, so a result read at or before runningAfter cannot
	// show it, and the client must not see it before its answer.
	running      bool
	runningAfter uint64

	// Owned by run.
	sessionID   string
	caller      caller
	querySetIn  uint32 // the latest query set version the client sent
	identityIn  uint32 // the latest identity version the client sent
	sent        sentVersion
	dirty       bool // the versions moved since the last Transition
	queries     map[uint32]*liveQuery
	removed     []uint32
	outbox      [][]byte // ActionResponses waiting to be sent
	needTS      uint64   // a mutation's timestamp the next Transition must reach
	pingTimer   *time.Timer
	closeReason string
}

// sentVersion is the StateVersion of the last Transition sent.
type sentVersion struct {
	querySet, identity uint32
	ts                 uint64
}

// liveQuery is one query of the client's query set.
type liveQuery struct {
	id      uint32
	mod     querySetModification // the Add, to subscribe again as another identity
	path    string               // as the client wrote it
	reg     *livedb.Registry
	name    string // in reg; "" when the query failed before it ran
	args    livedb.Doc
	journal []string
	sub     *querySub // the current subscription (a new one per identity)

	// What the client has, to skip a result equal to it.
	sentHash [sha256.Size]byte
	hasSent  bool
}

// querySub is one livedb subscription of a liveQuery. Its callback writes
// latest under the session's mu.
type querySub struct {
	q      *liveQuery
	stop   func()
	latest livedb.PublicUpdate // guarded by session.mu
	queued bool                // in session.fresh; guarded by session.mu
}

// serveSync upgrades a request to a sync session and runs it.
func (s *Server) serveSync(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOrigin(r); err != nil {
		s.refuse(w, r, http.StatusForbidden, "Forbidden", err.Error())
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.refuse(w, r, http.StatusServiceUnavailable, "ServerClosed", "the server is shutting down")
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the Origin is checked above, with the same rule as HTTP calls
	})
	if err != nil {
		s.log.Info("livedb server: WebSocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(s.opts.MaxMessageBytes + 1) // one byte more, to see an oversized message and say so
	ctx, cancel := context.WithCancel(context.Background())
	readCtx, readCancel := context.WithCancel(context.Background())
	ss := &session{
		srv:        s,
		conn:       conn,
		remote:     r.RemoteAddr,
		ctx:        ctx,
		cancel:     cancel,
		readCtx:    readCtx,
		readCancel: readCancel,
		in:         make(chan *clientMessage),
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		queries:    map[uint32]*liveQuery{},
	}
	ss.mq = mutationQueue{exec: ss.execMutation, wg: &ss.wg}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		readCancel()
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	s.sessions[ss] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
		s.wg.Done()
	}()
	ss.run()
}

// shutdown ends the session because the server closes. The loop ends
// at its next event; a write in progress is not cut short, so that the
// client gets a close frame and reconnects.
func (ss *session) shutdown() {
	ss.once.Do(func() { close(ss.quit) })
}

var errServerClosing = errors.New("server shutting down")

// poke wakes run without blocking.
func (ss *session) poke() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// run is the session's loop: it handles the client's messages in order,
// and after each event sends what is due (answers to mutations, then a
// Transition). It returns when the session ends.
func (ss *session) run() {
	srv := ss.srv
	srv.log.Debug("livedb server: session opened", "remote", ss.remote)
	ss.wg.Add(1)
	go ss.read()
	ss.pingTimer = time.NewTimer(srv.pingInterval)
	err := ss.loop()
	ss.mu.Lock()
	if ss.ctx.Err() != nil && ss.readFailure != nil {
		err = ss.readFailure // the cause, not the cancelled work it broke
	}
	ss.mu.Unlock()
	ss.cancel()
	ss.pingTimer.Stop()
	for _, q := range ss.queries {
		q.sub.stop()
	}
	ss.end(err)
	ss.readCancel()
	ss.wg.Wait()
	srv.log.Info("livedb server: session closed", "remote", ss.remote, "session", ss.sessionID, "reason", ss.closeReason)
}

// loop runs until the session fails or ends; its error says why.
func (ss *session) loop() error {
	for {
		in := ss.in
		if n, _ := ss.mq.backlog(); n >= maxBacklog {
			in = nil // stop reading until the mutations catch up
		}
		select {
		case m := <-in:
			if err := ss.handle(m); err != nil {
				return err
			}
		case <-ss.wake:
		case <-ss.pingTimer.C:
			if err := ss.write(pingMessage); err != nil {
				return err
			}
		case <-ss.quit:
			return errServerClosing
		case <-ss.ctx.Done():
			ss.mu.Lock()
			err := ss.readFailure
			ss.mu.Unlock()
			return err
		}
		if err := ss.flush(); err != nil {
			return err
		}
	}
}

// protocolError is a client's breach of the protocol: the session ends
// with a FatalError that says what was wrong.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// authError ends a session whose Authenticate was refused.
type authError struct {
	msg         string
	baseVersion uint32
}

func (e *authError) Error() string { return e.msg }

// tooBigError is a message over MaxMessageBytes.
type tooBigError struct{ limit int64 }

func (e *tooBigError) Error() string {
	return fmt.Sprintf("a message is larger than the server's limit of %d bytes (server.Options.MaxMessageBytes)", e.limit)
}

// end closes the connection, telling the client why when the protocol
// has a message for it.
func (ss *session) end(err error) {
	var pe *protocolError
	var ae *authError
	var tb *tooBigError
	switch {
	case errors.As(err, &pe):
		ss.closeReason = "protocol error: " + pe.msg
		ss.sendFinal(fatalErrorMessage{Type: "FatalError", Error: pe.msg})
		ss.close(websocket.StatusPolicyViolation, "FatalError")
	case errors.As(err, &tb):
		ss.closeReason = tb.Error()
		ss.sendFinal(fatalErrorMessage{Type: "FatalError", Error: tb.Error()})
		ss.close(websocket.StatusMessageTooBig, "FatalError: message too big")
	case errors.As(err, &ae):
		ss.closeReason = "authentication refused: " + ae.msg
		ss.sendFinal(authErrorMessage{Type: "AuthError", Error: ae.msg, BaseVersion: ae.baseVersion, AuthUpdateAttempted: true})
		ss.close(websocket.StatusNormalClosure, "AuthError")
	case errors.Is(err, errServerClosing):
		ss.closeReason = err.Error()
		ss.close(websocket.StatusGoingAway, "server shutting down")
	case errors.Is(err, errSlowClient):
		ss.closeReason = err.Error()
		ss.close(websocket.StatusTryAgainLater, "client too slow: a message waited too long to be sent")
	default:
		if err != nil {
			ss.closeReason = err.Error()
		}
		_ = ss.conn.CloseNow()
	}
}

// sendFinal writes a last message, bounded by the write timeout.
func (ss *session) sendFinal(x any) {
	b, err := json.Marshal(x)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.srv.opts.WriteTimeout)
	defer cancel()
	_ = ss.conn.Write(ctx, websocket.MessageText, b)
}

// close closes the connection with a close frame. The library waits up
// to 5 s for the client's close frame: a client that does not answer
// holds its session that long, not the server.
func (ss *session) close(code websocket.StatusCode, reason string) {
	_ = ss.conn.Close(code, reason)
}

// read parses the client's messages and hands them to run, in order.
func (ss *session) read() {
	defer ss.wg.Done()
	limit := ss.srv.opts.MaxMessageBytes
	for {
		m, err := ss.readMessage(limit)
		if err != nil {
			ss.mu.Lock()
			if ss.readFailure == nil {
				ss.readFailure = err
			}
			ss.mu.Unlock()
			ss.cancel()
			return
		}
		select {
		case ss.in <- m:
		case <-ss.ctx.Done():
			return
		}
	}
}

// readMessage reads and parses one message of at most limit bytes.
func (ss *session) readMessage(limit int64) (*clientMessage, error) {
	typ, r, err := ss.conn.Reader(ss.readCtx)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &tooBigError{limit: limit}
	}
	if typ != websocket.MessageText {
		return nil, protocolErrorf("a binary message: the sync protocol sends JSON text")
	}
	m, err := parseClientMessage(b)
	if err != nil {
		return nil, &protocolError{msg: err.Error()}
	}
	return m, nil
}

// errSlowClient ends a session whose client did not take a message
// within the write timeout.
var errSlowClient = errors.New("the client did not read a message within the write timeout (server.Options.WriteTimeout)")

// write sends one message, bounded by the write timeout, and restarts the
// ping timer.
func (ss *session) write(b []byte) error {
	ctx, cancel := context.WithTimeout(ss.ctx, ss.srv.opts.WriteTimeout)
	defer cancel()
	if err := ss.conn.Write(ctx, websocket.MessageText, b); err != nil {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The library closes the connection when a write times out,
			// and the reader then fails too: this is the cause.
			ss.readFailure = errSlowClient
			return errSlowClient
		}
		if ss.readFailure != nil {
			err = ss.readFailure // the reason the connection went away
		}
		return err
	}
	if !ss.pingTimer.Stop() {
		select {
		case <-ss.pingTimer.C:
		default:
		}
	}
	ss.pingTimer.Reset(ss.srv.pingInterval)
	return nil
}

// writeJSON marshals and sends one message.
func (ss *session) writeJSON(x any) error {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("server: encoding a message: %w", err)
	}
	return ss.write(b)
}

// handle applies one client message to the session.
func (ss *session) handle(m *clientMessage) error {
	switch m.Type {
	case "Connect":
		return ss.handleConnect(m)
	case "ModifyQuerySet":
		return ss.handleModifyQuerySet(m)
	case "Mutation":
		ss.mq.push(&mutationRequest{
			requestID: *m.RequestID, path: m.UdfPath, args: m.Args, component: m.ComponentPath,
			caller: ss.caller, sessionID: ss.sessionID, size: m.size,
		})
	case "Action":
		b, _ := json.Marshal(actionResponse{Type: "ActionResponse", RequestID: *m.RequestID, Success: false,
			Result: "livedb has no actions: call queries and mutations, and run side effects in your Go program", LogLines: []string{}})
		ss.outbox = append(ss.outbox, b)
	case "Authenticate":
		return ss.handleAuthenticate(m)
	case "Event":
		ss.srv.log.Debug("livedb server: client event", "session", ss.sessionID, "event", m.EventType)
	}
	return nil
}

func (ss *session) handleConnect(m *clientMessage) error {
	if len(m.SessionID) > maxSessionIDBytes {
		return protocolErrorf("Connect: the sessionId is longer than %d bytes", maxSessionIDBytes)
	}
	ss.sessionID = m.SessionID
	if m.MaxObservedTimestamp != nil {
		ts, err := decodeTS(*m.MaxObservedTimestamp)
		if err != nil {
			return &protocolError{msg: fmt.Errorf("Connect: maxObservedTimestamp: %w", err).Error()}
		}
		if last := ss.srv.db.LastTimestamp(); ts > last {
			// The client saw a newer state, of another database or of
			// this one before it lost commits (a memory database that was
			// restarted). Convex refuses; livedb serves what it has.
			ss.srv.log.Warn("livedb server: client has seen a newer timestamp than the database's", "session", m.SessionID, "client", ts, "db", last)
		}
	}
	ss.srv.log.Debug("livedb server: connect", "session", m.SessionID, "connectionCount", m.ConnectionCount)
	return nil
}

func (ss *session) handleModifyQuerySet(m *clientMessage) error {
	base, next := *m.BaseVersion, *m.NewVersion
	if base != ss.querySetIn {
		return protocolErrorf("ModifyQuerySet: base version %d does not match the current query set version %d", base, ss.querySetIn)
	}
	if next <= base {
		return protocolErrorf("ModifyQuerySet: new version %d is not after base version %d", next, base)
	}
	for _, mod := range m.Modifications {
		id := *mod.QueryID
		switch mod.Type {
		case "Add":
			if _, dup := ss.queries[id]; dup {
				return protocolErrorf("ModifyQuerySet: query %d is added twice", id)
			}
			if len(ss.queries) >= maxQueries {
				return protocolErrorf("ModifyQuerySet: a session may watch at most %d queries", maxQueries)
			}
			q := &liveQuery{id: id, mod: mod, path: mod.UdfPath}
			ss.queries[id] = q
			ss.subscribe(q, mod)
		case "Remove":
			q, ok := ss.queries[id]
			if !ok {
				return protocolErrorf("ModifyQuerySet: query %d is removed but was never added", id)
			}
			q.sub.stop()
			delete(ss.queries, id)
			ss.removed = append(ss.removed, id)
		}
	}
	ss.querySetIn = next
	ss.dirty = true
	return nil
}

// subscribe starts the subscription of a new query. A query that cannot
// run (unknown path, bad arguments or journal) gets its error as its
// result, and the session goes on.
func (ss *session) subscribe(q *liveQuery, mod querySetModification) {
	var err error
	if q.args, err = decodeArgs(mod.Args); err == nil {
		q.journal, err = decodeJournal(mod.Journal)
	}
	if err == nil {
		q.reg, q.name, err = ss.srv.resolve(mod.UdfPath, ss.caller, mod.ComponentPath)
	}
	if err == nil {
		if info, _ := q.reg.Function(q.name); info.Mutation {
			err = fmt.Errorf("Trying to execute %s as Query, but it is defined as Mutation", mod.UdfPath)
		}
	}
	if err != nil {
		q.name = ""
		q.sub = &querySub{q: q, stop: func() {}}
		ss.deliver(q.sub, livedb.PublicUpdate{Err: err})
		return
	}
	ss.start(q)
}

// start subscribes q with the session's caller; its first result is
// handed over before start returns.
func (ss *session) start(q *liveQuery) {
	sub := &querySub{q: q, stop: func() {}}
	q.sub = sub
	ctx := ss.caller.context(ss.ctx)
	stop, err := q.reg.SubscribePublic(ctx, ss.srv.db, q.name, q.args, q.journal, func(u livedb.PublicUpdate) {
		ss.deliver(sub, u)
	})
	if err != nil {
		ss.deliver(sub, livedb.PublicUpdate{Err: err})
		return
	}
	sub.stop = stop
}

// deliver hands a query's new result to run; it never blocks. A result
// not yet sent is replaced.
func (ss *session) deliver(sub *querySub, u livedb.PublicUpdate) {
	ss.mu.Lock()
	sub.latest = u
	if !sub.queued {
		sub.queued = true
		ss.fresh = append(ss.fresh, sub)
	}
	ss.mu.Unlock()
	ss.poke()
}

func (ss *session) handleAuthenticate(m *clientMessage) error {
	if *m.BaseVersion != ss.identityIn {
		return protocolErrorf("Authenticate: base version %d does not match the current identity version %d", *m.BaseVersion, ss.identityIn)
	}
	var c caller
	switch m.TokenType {
	case "User":
		id, err := ss.srv.authenticateUser(ss.ctx, m.Value)
		if err != nil {
			return &authError{msg: err.Error(), baseVersion: *m.BaseVersion}
		}
		c = caller{identity: id}
	case "Admin":
		if err := ss.srv.checkAdminKey(m.Value); err != nil {
			return &authError{msg: err.Error(), baseVersion: *m.BaseVersion}
		}
		c = caller{admin: true, identity: impersonated(m.Impersonating)}
	}
	ss.caller = c
	ss.identityIn++
	ss.dirty = true
	// Every query runs again as the new caller, with its page ends.
	for _, id := range ss.queryIDs() {
		q := ss.queries[id]
		q.sub.stop()
		mod := q.mod
		if q.journal != nil {
			mod.Journal = journalString(q.journal)
		}
		ss.subscribe(q, mod)
	}
	return nil
}

// journalString is the inverse of decodeJournal.
func journalString(j []string) *string {
	if len(j) == 0 {
		return nil
	}
	b, _ := json.Marshal(j)
	s := string(b)
	return &s
}

// queryIDs returns the ids of the query set, in order.
func (ss *session) queryIDs() []uint32 {
	ids := make([]uint32, 0, len(ss.queries))
	for id := range ss.queries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// flush sends what is due: the answers to mutations, then a Transition
// when the query set, the identity or a result changed, or a mutation's
// timestamp must be reached.
//
// The Transition's timestamp is the mark up to which every subscription
// has caught up, read before the results are taken, so every result in it
// reflects every commit up to it. The answers and the results are taken
// together: a result that shows a mutation is never sent before that
// mutation's answer. While a mutation of the session runs, the Transition
// stops at the timestamp the mutation started after, and results read
// later wait: they may show the mutation, which the client must see only
// with or after its answer (its optimistic update would apply twice).
func (ss *session) flush() error {
	mark, err := ss.srv.db.WaitSubscriptions(ss.ctx, 0)
	if err != nil {
		return err
	}
	ss.mu.Lock()
	done := ss.done
	ss.done = nil
	for _, d := range done {
		if d.ts > 0 {
			// The client resolves the mutation at the first Transition
			// after this answer that reaches its timestamp: send one even
			// if an earlier Transition reached it already.
			ss.needTS = max(ss.needTS, d.caughtUp)
			ss.dirty = true
		}
	}
	ts := max(ss.sent.ts, mark, ss.needTS)
	if ss.running {
		ts = max(ss.sent.ts, min(ts, ss.runningAfter))
	}
	var fresh []*querySub
	var updates []livedb.PublicUpdate
	keep := ss.fresh[:0]
	for _, sub := range ss.fresh {
		if ss.running && sub.latest.Timestamp > ts {
			keep = append(keep, sub) // after the mutation's answer
			continue
		}
		fresh = append(fresh, sub)
		updates = append(updates, sub.latest)
		sub.queued = false
	}
	ss.fresh = keep
	ss.mu.Unlock()

	for _, b := range ss.outbox {
		if err := ss.write(b); err != nil {
			return err
		}
	}
	ss.outbox = ss.outbox[:0]
	for _, d := range done {
		if err := ss.write(d.response); err != nil {
			return err
		}
	}
	if err := ss.transition(ts, fresh, updates); err != nil {
		return err
	}
	for _, d := range done {
		close(d.sent)
	}
	return nil
}

// transition sends a Transition to timestamp ts from the last version
// sent, with the results of fresh (updates[i] is fresh[i]'s) that differ
// from what the client has; it sends nothing when nothing changed.
func (ss *session) transition(ts uint64, fresh []*querySub, updates []livedb.PublicUpdate) error {
	var mods []any
	for _, id := range ss.removed {
		mods = append(mods, queryRemoved{Type: "QueryRemoved", QueryID: id})
	}
	ss.removed = ss.removed[:0]
	order := make([]int, len(fresh))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(fresh[a].q.id) - int(fresh[b].q.id) })
	for _, i := range order {
		sub, u := fresh[i], updates[i]
		q := sub.q
		if ss.queries[q.id] != q || q.sub != sub {
			continue // removed, or replaced by a subscription of a new identity
		}
		if mod, ok := q.modification(u); ok {
			mods = append(mods, mod)
		}
	}
	if len(mods) == 0 && !ss.dirty && ts == ss.sent.ts {
		return nil
	}
	next := sentVersion{querySet: ss.querySetIn, identity: ss.identityIn, ts: ts}
	msg := transitionMessage{
		Type:          "Transition",
		StartVersion:  stateVersion{QuerySet: ss.sent.querySet, TS: encodeTS(ss.sent.ts), Identity: ss.sent.identity},
		EndVersion:    stateVersion{QuerySet: next.querySet, TS: encodeTS(next.ts), Identity: next.identity},
		Modifications: mods,
	}
	if msg.Modifications == nil {
		msg.Modifications = []any{}
	}
	if err := ss.writeJSON(msg); err != nil {
		return err
	}
	ss.sent = next
	ss.dirty = false
	return nil
}

// modification is the state modification that brings the client to the
// result u, or false when the client already has it.
func (q *liveQuery) modification(u livedb.PublicUpdate) (any, bool) {
	if u.Err == nil {
		q.journal = u.Journal // a failed run keeps the page ends it had
	}
	journal := encodeJournal(q.journal)
	var mod any
	var value []byte
	if u.Err == nil {
		b, err := convexjson.Encode(u.Value)
		if err != nil {
			u.Err = fmt.Errorf("the result of %s is not a Convex value: %w", q.path, err)
		} else {
			value = b
			mod = queryUpdated{Type: "QueryUpdated", QueryID: q.id, Value: b, LogLines: []string{}, Journal: journal}
		}
	}
	if u.Err != nil {
		msg := functionError(u.Err)
		value = []byte("error:" + msg)
		mod = queryFailed{Type: "QueryFailed", QueryID: q.id, ErrorMessage: msg, LogLines: []string{}, Journal: journal}
	}
	h := sha256.New()
	h.Write(value)
	h.Write(journal)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	if q.hasSent && sum == q.sentHash {
		return nil, false
	}
	q.sentHash, q.hasSent = sum, true
	return mod, true
}

// execMutation runs one mutation on the mutation queue's goroutine and
// hands its answer to run. A success is answered once every subscription
// has caught up with its commit, so that the Transition that follows the
// answer shows the mutation's writes.
func (ss *session) execMutation(r *mutationRequest) {
	who := "anonymous"
	switch {
	case r.caller.admin:
		who = "admin"
		if r.caller.identity != nil {
			who += ":" + r.caller.identity.TokenIdentifier
		}
	case r.caller.identity != nil:
		who = "user:" + r.caller.identity.TokenIdentifier
	}
	key := mutationKey{session: r.sessionID, request: r.requestID}
	ss.mu.Lock()
	ss.running, ss.runningAfter = true, ss.srv.db.LastTimestamp()
	ss.mu.Unlock()
	d := ss.srv.mutations.run(ss.ctx, key, who, func() mutationDone { return ss.runMutation(r) })
	if d.response == nil { // the session ended while it ran
		ss.mu.Lock()
		ss.running = false
		ss.mu.Unlock()
		return
	}
	if d.ts > 0 && d.caughtUp < d.ts {
		// An answer from the log, of a run whose waiting was cut short.
		d.caughtUp, _ = ss.srv.db.WaitSubscriptions(ss.ctx, d.ts)
	}
	d.sent = make(chan struct{})
	ss.mu.Lock()
	ss.done = append(ss.done, &d)
	ss.running = false
	ss.mu.Unlock()
	ss.poke()
	// The next mutation starts once the client has this one's answer and
	// a Transition that shows it: until then nothing of the next one may
	// be sent, and results that show this one must be.
	select {
	case <-d.sent:
	case <-ss.ctx.Done():
	}
}

// runMutation runs a mutation and encodes its answer.
func (ss *session) runMutation(r *mutationRequest) mutationDone {
	fail := func(msg string) mutationDone {
		b, _ := json.Marshal(mutationResponse{Type: "MutationResponse", RequestID: r.requestID, Success: false, Result: jsonString(msg), LogLines: []string{}})
		return mutationDone{response: b}
	}
	args, err := decodeArgs(r.args)
	if err != nil {
		return fail(err.Error())
	}
	reg, name, err := ss.srv.resolve(r.path, r.caller, r.component)
	if err != nil {
		return fail(err.Error())
	}
	x, ts, err := reg.MutatePublic(r.caller.context(ss.ctx), ss.srv.db, name, args)
	if err != nil {
		if ss.ctx.Err() != nil {
			return mutationDone{} // the session ended: nobody to answer
		}
		return fail(functionError(err))
	}
	value, err := convexjson.Encode(x)
	if err != nil {
		return fail(fmt.Errorf("the result of %s is not a Convex value: %w", r.path, err).Error())
	}
	caughtUp, err := ss.srv.db.WaitSubscriptions(ss.ctx, ts)
	if err != nil {
		caughtUp = 0 // the session is ending; a log reader waits again
	}
	b, _ := json.Marshal(mutationResponse{Type: "MutationResponse", RequestID: r.requestID, Success: true, Result: value, TS: encodeTS(ts), LogLines: []string{}})
	return mutationDone{response: b, ts: ts, caughtUp: caughtUp}
}
