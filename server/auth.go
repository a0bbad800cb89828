package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/livedb-go/livedb"
)

// caller is who makes a request: an identity (nil when anonymous) and
// whether the admin key was presented.
type caller struct {
	identity *livedb.Identity
	admin    bool
}

// context returns ctx carrying the caller's identity for the functions.
func (c caller) context(ctx context.Context) context.Context {
	if c.identity == nil {
		return ctx
	}
	return livedb.WithIdentity(ctx, c.identity)
}

// errNoAuthenticator refuses a token when no Authenticator is configured.
var errNoAuthenticator = errors.New("this server has no authenticator (server.Options.Authenticator): it accepts anonymous clients only, so drop the auth token")

// authenticateUser makes the identity of a user token.
func (s *Server) authenticateUser(ctx context.Context, token string) (*livedb.Identity, error) {
	if s.opts.Authenticator == nil {
		return nil, errNoAuthenticator
	}
	id, err := s.opts.Authenticator(ctx, token)
	if err != nil {
		return nil, err
	}
	if id == nil {
		return nil, errors.New("the authenticator accepted the token but returned no identity")
	}
	return id, nil
}

// checkAdminKey reports whether key is the admin key, in time that does
// not depend on where they differ. No key is configured: nothing matches.
func (s *Server) checkAdminKey(key string) error {
	if s.opts.AdminKey == "" {
		return errors.New("admin access is off: the server has no admin key (server.Options.AdminKey)")
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AdminKey)) != 1 {
		return errors.New("the admin key is wrong")
	}
	return nil
}

// impersonated is the identity an admin acts as (Convex's setAdminAuth
// with a user identity), from Convex's UserIdentityAttributes.
func impersonated(attrs map[string]any) *livedb.Identity {
	if len(attrs) == 0 {
		return nil
	}
	id := &livedb.Identity{Claims: map[string]any{}}
	for k, x := range attrs {
		s, _ := x.(string)
		switch k {
		case "tokenIdentifier":
			id.TokenIdentifier = s
		case "subject":
			id.Subject = s
		case "issuer":
			id.Issuer = s
		case "name":
			id.Name = s
		case "email":
			id.Email = s
		default:
			id.Claims[k] = x
		}
	}
	if id.TokenIdentifier == "" && id.Issuer != "" {
		id.TokenIdentifier = id.Issuer + "|" + id.Subject
	}
	return id
}

// httpCaller authenticates an HTTP call from its Authorization header:
// "Bearer <token>" for a user, "Convex <admin key>" for the admin, none
// for an anonymous caller.
func (s *Server) httpCaller(r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return caller{}, nil
	}
	scheme, value, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		id, err := s.authenticateUser(r.Context(), value)
		if err != nil {
			return caller{}, err
		}
		return caller{identity: id}, nil
	case "convex":
		if err := s.checkAdminKey(value); err != nil {
			return caller{}, err
		}
		return caller{admin: true}, nil
	}
	return caller{}, fmt.Errorf("unknown Authorization scheme %q: use \"Bearer <token>\" or \"Convex <admin key>\"", scheme)
}

// checkOrigin refuses a browser request from a page of another origin
// than the server's own host and AllowedOrigins. A request without an
// Origin header is not a browser's cross-origin request and passes.
func (s *Server) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if s.originAllowed(r, origin) {
		return nil
	}
	return fmt.Errorf("origin %q may not use this server: it is not the server's host %q nor in server.Options.AllowedOrigins (livedb serve -allow-origin)", origin, r.Host)
}

// originAllowed matches origin against the request's host and the
// allowed patterns.
func (s *Server) originAllowed(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range s.opts.AllowedOrigins {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}
