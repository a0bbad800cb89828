package server

import (
	"context"
	"encoding/json"
	"sync"
)

// mutationRequest is a Mutation a session received, with the caller it
// runs as: the identity at the time it arrived, as the protocol orders
// Authenticate and Mutation messages.
type mutationRequest struct {
	requestID uint32
	path      string
	args      json.RawMessage
	component *string
	caller    caller
	sessionID string
	size      int
}

// mutationDone is the answer to a mutationRequest: the encoded
// MutationResponse and, for a success, the commit timestamp and the
// subscription mark that has caught up with it.
type mutationDone struct {
	response []byte
	ts       uint64
	caughtUp uint64
	// sent is closed once the answer and the Transition after it are
	// written; the next mutation of the session waits for it. Not logged.
	sent chan struct{}
}

// mutationKey names a mutation across reconnections: the client's session
// id (which survives them) and its request id.
type mutationKey struct {
	session string
	request uint32
}

// mutationLog remembers the answers to recent mutations, so that a
// client that reconnects and re-sends a mutation it has no Transition for
// gets the first answer instead of running it twice. It keeps answers up
// to a total of maxBytes, forgetting the oldest first; a mutation still
// running is waited for. An answer is reused only for the same identity,
// so that a guessed session id gives nothing away.
type mutationLog struct {
	maxBytes int

	mu      sync.Mutex
	entries map[mutationKey]*loggedMutation
	order   []mutationKey // finished entries, oldest first
	bytes   int
}

type loggedMutation struct {
	who  string
	done chan struct{} // closed when res is set
	res  mutationDone
}

// mutationLogBytes bounds the answers a server remembers.
const mutationLogBytes = 16 << 20

func newMutationLog(maxBytes int) *mutationLog {
	return &mutationLog{maxBytes: maxBytes, entries: map[mutationKey]*loggedMutation{}}
}

// run answers the mutation key for who: with the logged answer when there
// is one (waiting for it while it runs), else by calling exec and logging
// its answer. A key without a session id is never logged.
func (l *mutationLog) run(ctx context.Context, key mutationKey, who string, exec func() mutationDone) mutationDone {
	if key.session == "" {
		return exec()
	}
	l.mu.Lock()
	for {
		e, ok := l.entries[key]
		if !ok || e.who != who {
			break
		}
		l.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return mutationDone{}
		}
		if e.res.response != nil {
			return e.res
		}
		// The run's session ended before it had an answer, and the run
		// was forgotten: run the mutation here.
		l.mu.Lock()
	}
	e := &loggedMutation{who: who, done: make(chan struct{})}
	l.entries[key] = e
	l.mu.Unlock()

	e.res = exec()
	if e.res.response == nil {
		// The session ended before the mutation had an answer (it did not
		// commit): forget it, so that the client's re-send runs it.
		l.mu.Lock()
		if l.entries[key] == e {
			delete(l.entries, key)
		}
		l.mu.Unlock()
		close(e.done)
		return e.res
	}
	close(e.done)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries[key] != e {
		return e.res // replaced by another identity's run
	}
	l.order = append(l.order, key)
	l.bytes += len(e.res.response)
	for l.bytes > l.maxBytes && len(l.order) > 0 {
		old := l.order[0]
		l.order = l.order[1:]
		if oe, ok := l.entries[old]; ok {
			l.bytes -= len(oe.res.response)
			delete(l.entries, old)
		}
	}
	if len(l.order) == 0 {
		l.order = nil // let the backing array go
	}
	return e.res
}

// mutationQueue runs a session's mutations one at a time, in order, on a
// goroutine that exists only while there is work. The session limits the
// backlog (see session.backlogFull).
type mutationQueue struct {
	exec func(*mutationRequest) // runs one and reports its answer
	wg   *sync.WaitGroup        // counts the worker, for the session's end

	mu      sync.Mutex
	pending []*mutationRequest
	bytes   int
	running bool
}

// push queues r and starts the worker when it is idle.
func (q *mutationQueue) push(r *mutationRequest) {
	q.mu.Lock()
	q.pending = append(q.pending, r)
	q.bytes += r.size
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		q.wg.Add(1)
		go q.work()
	}
}

func (q *mutationQueue) work() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.pending = nil
			q.mu.Unlock()
			return
		}
		r := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.exec(r)
		q.mu.Lock()
		q.bytes -= r.size
		q.mu.Unlock()
	}
}

// backlog returns the number and wire size of the mutations queued or
// running.
func (q *mutationQueue) backlog() (n, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = len(q.pending)
	if q.running {
		n++
	}
	return n, q.bytes
}
