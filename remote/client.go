package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/livedb-go/livedb"
)

// Defaults of [Options].
const (
	DefaultMaxMessageBytes = 64 << 20
	DefaultMinBackoff      = 250 * time.Millisecond
	DefaultMaxBackoff      = 16 * time.Second
	// DefaultIdleTimeout is how long a connection may stay silent before
	// the client gives up on it: a livedb or Convex server pings every
	// 15 s, and Convex's client waits 60 s.
	DefaultIdleTimeout = 60 * time.Second
)

// Options configure a [Client]. A nil *Options means the defaults.
type Options struct {
	// AuthToken is the token the server's authenticator checks (a JWT, or
	// whatever the server's Authenticator accepts); empty means
	// anonymous. It is ignored when AuthTokenFunc is set.
	AuthToken string
	// AuthTokenFunc, when set, returns the token for each connection and
	// each HTTP query, so that an expiring token can be renewed; "" means
	// anonymous.
	AuthTokenFunc func(ctx context.Context) (string, error)
	// Logger receives the client's log: connections lost and made,
	// messages the client refused. Nil means silent.
	Logger *slog.Logger
	// HTTPClient makes the HTTP queries and the WebSocket handshakes; nil
	// means http.DefaultClient.
	HTTPClient *http.Client
	// MaxMessageBytes bounds one message or HTTP response from the
	// server; a larger one drops the connection (ErrProtocol). 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// MinBackoff and MaxBackoff bound the wait before a reconnection,
	// which doubles after each failed attempt, up to MaxBackoff, with
	// ±50% jitter. 0 means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// IdleTimeout is how long the client waits for any message of the
	// server before it drops the connection and reconnects. 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Client is a connection to a livedb server (package server), or to any
// server of Convex's sync protocol: a [Backend] whose subscriptions and
// mutations travel on one WebSocket session, which the Client keeps open
// across the server's restarts (see the package documentation), and
// whose one-shot queries are HTTP calls.
//
// A Client is safe for concurrent use by multiple goroutines.
type Client struct {
	base      *url.URL // the server's HTTP URL, without a trailing slash
	syncURL   string
	opts      Options
	log       *slog.Logger
	http      *http.Client
	sessionID string

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the connection loop
	ready  chan error     // the first connection's outcome, for Dial

	// mu guards the fields below and orders the messages queued to the
	// connection: a message is built and queued under mu, so the server
	// sees the versions it carries in order. Lock order: mu, then a
	// Subscription's mu.
	mu            sync.Mutex
	closed        bool
	conn          *connection // nil while disconnected
	nextQueryID   uint32
	nextRequestID uint32
	queries       map[uint32]*remoteQuery
	mutations     map[uint32]*pendingMutation
	querySet      uint32       // the query set version of the last ModifyQuerySet sent
	identity      uint32       // the identity version of the last Authenticate sent
	connCount     int          // connections made
	lastClose     string       // why the last one ended
	server        stateVersion // the end version of the last Transition
	maxTS         uint64       // the newest timestamp seen, across connections
}

// remoteQuery is one subscription of the client's query set.
type remoteQuery struct {
	id      uint32
	path    string
	args    json.RawMessage
	sub     *Subscription
	journal *string // the page ends the server gave; sent again on reconnect
	// last is what was delivered, to skip an equal result; nil after an
	// error, so that a resumed result is delivered.
	last     []byte
	hasLast  bool
	first    chan struct{} // closed at the first result
	firstErr error         // a failure as the first result
	gotFirst bool
}

// pendingMutation is a mutation without its final answer.
type pendingMutation struct {
	name     string
	msg      []byte // the Mutation message, sent again on reconnect
	answered bool   // a success came; waiting for a Transition to ts
	result   any
	ts       uint64
	err      error
	done     chan struct{}
}

// Dial connects to the livedb server at rawURL, the URL the server's
// handler is mounted at ("http://127.0.0.1:8080", or with a prefix
// "https://example.com/convex"), and returns once the session is open
// (and the token, if any, accepted). A nil opts means the defaults. ctx
// bounds Dial only; the Client lives until Close.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Client, error) {
	c, err := newClient(rawURL, opts)
	if err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go c.run()
	select {
	case err = <-c.ready:
	case <-ctx.Done():
		err = fmt.Errorf("remote: dial %s: %w", c.base, ctx.Err())
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func newClient(rawURL string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxMessageBytes < 0:
		return nil, fmt.Errorf("remote: Dial: MaxMessageBytes is negative (%d)", o.MaxMessageBytes)
	case o.MinBackoff < 0 || o.MaxBackoff < 0:
		return nil, fmt.Errorf("remote: Dial: a backoff is negative (%v, %v)", o.MinBackoff, o.MaxBackoff)
	case o.IdleTimeout < 0:
		return nil, fmt.Errorf("remote: Dial: IdleTimeout is negative (%v)", o.IdleTimeout)
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("remote: Dial: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote: Dial: URL %q is not an http:// or https:// URL of a server", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	ws := *u
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	ws.Path += "/api/" + protocolVersion + "/sync"
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand never fails
	c := &Client{
		base:      u,
		syncURL:   ws.String(),
		opts:      o,
		log:       o.Logger,
		http:      o.HTTPClient,
		sessionID: uuid(id),
		ready:     make(chan error, 1),
		queries:   map[uint32]*remoteQuery{},
		mutations: map[uint32]*pendingMutation{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// uuid formats 16 random bytes as a version 4 UUID, the session id
// Convex's client sends.
func uuid(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Mutation runs the public mutation name with args on the server and
// returns its result and commit timestamp, once the client's
// subscriptions reflect it (as Convex's client resolves a mutation). A
// mutation whose connection is lost is sent again on the next one, with
// the same request id. When ctx ends first, Mutation returns its error
// and the mutation may or may not have run; it is not sent again.
func (c *Client) Mutation(ctx context.Context, name string, args any) (any, uint64, error) {
	a, err := callArgs(name, args)
	if err != nil {
		return nil, 0, err
	}
	raw, err := encodeArgs(a)
	if err != nil {
		return nil, 0, fmt.Errorf("remote: arguments of %s: %w", name, err)
	}
	m := &pendingMutation{name: name, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, 0, ErrClosed
	}
	c.nextRequestID++
	id := c.nextRequestID
	m.msg = mustMarshal(mutationMessage{Type: "Mutation", RequestID: id, UdfPath: name, Args: raw})
	c.mutations[id] = m
	c.sendLocked(m.msg)
	c.mu.Unlock()
	select {
	case <-m.done:
		return m.result, m.ts, m.err
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		select {
		case <-m.done: // answered meanwhile
			return m.result, m.ts, m.err
		default:
		}
		delete(c.mutations, id)
		return nil, 0, fmt.Errorf("remote: mutation %s: %w", name, ctx.Err())
	}
}

// Subscribe subscribes to the public query name with args; it returns
// once the first result is in the subscription's channel, or ctx ends.
// While the connection is lost, the subscription receives an update
// whose Err matches ErrDisconnected, and then the query's result again
// once the client has reconnected.
func (c *Client) Subscribe(ctx context.Context, name string, args any) (*Subscription, error) {
	a, err := callArgs(name, args)
	if err != nil {
		return nil, err
	}
	raw, err := encodeArgs(a)
	if err != nil {
		return nil, fmt.Errorf("remote: arguments of %s: %w", name, err)
	}
	s := newSubscription()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.nextQueryID++
	q := &remoteQuery{id: c.nextQueryID, path: name, args: raw, sub: s, first: make(chan struct{})}
	c.queries[q.id] = q
	s.stop = func() { c.removeQuery(q) }
	if c.conn != nil {
		c.modifyLocked(q.add())
	}
	c.mu.Unlock()
	select {
	case <-q.first:
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("remote: subscribe %s: %w", name, ctx.Err())
	case <-c.ctx.Done():
		s.Close()
		return nil, ErrClosed
	}
	if q.firstErr != nil {
		s.Close()
		return nil, q.firstErr
	}
	s.watch(ctx)
	return s, nil
}

// add is the query's Add modification.
func (q *remoteQuery) add() addQuery {
	return addQuery{Type: "Add", QueryID: q.id, UdfPath: q.path, Args: q.args, Journal: q.journal}
}

// removeQuery takes q out of the query set.
func (c *Client) removeQuery(q *remoteQuery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queries[q.id] != q {
		return
	}
	delete(c.queries, q.id)
	if c.conn != nil {
		c.modifyLocked(removeQuery{Type: "Remove", QueryID: q.id})
	}
}

// modifyLocked sends a ModifyQuerySet of one modification.
func (c *Client) modifyLocked(mod any) {
	msg := modifyQuerySet{Type: "ModifyQuerySet", BaseVersion: c.querySet, NewVersion: c.querySet + 1, Modifications: []any{mod}}
	c.querySet++
	c.sendLocked(mustMarshal(msg))
}

// Paginate runs one page of the paginated query name (see
// [Backend.Paginate]).
func (c *Client) Paginate(ctx context.Context, name string, args any, opts livedb.PaginationOptions) (livedb.PaginationResult[livedb.Doc], error) {
	a, err := pageArgs(name, args, opts)
	if err != nil {
		return livedb.PaginationResult[livedb.Doc]{}, err
	}
	x, err := c.Query(ctx, name, a)
	if err != nil {
		return livedb.PaginationResult[livedb.Doc]{}, err
	}
	return pageResult(name, x)
}

// Close ends the connection and every subscription (their channels
// close) and fails the mutations without an answer with ErrClosed (the
// server may have run them). It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.cancel()
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	subs := make([]*Subscription, 0, len(c.queries))
	for _, q := range c.queries {
		subs = append(subs, q.sub)
	}
	for id, m := range c.mutations {
		m.err = ErrClosed
		close(m.done)
		delete(c.mutations, id)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	return nil
}

// token returns the token of the next connection or call.
func (c *Client) token(ctx context.Context) (string, error) {
	if c.opts.AuthTokenFunc != nil {
		t, err := c.opts.AuthTokenFunc(ctx)
		if err != nil {
			return "", fmt.Errorf("remote: Options.AuthTokenFunc: %w", err)
		}
		return t, nil
	}
	return c.opts.AuthToken, nil
}

var _ Backend = (*Client)(nil)
