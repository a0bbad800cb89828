package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// statusFunctionFailed is the HTTP status of a call whose function failed
// (Convex's STATUS_CODE_UDF_FAILED).
const statusFunctionFailed = 560

// httpResult is the body of an answer to /api/query: a success
// {status, value}, a failure {status, errorMessage}, or a refusal
// {code, message}.
type httpResult struct {
	Status       string          `json:"status"`
	Value        json.RawMessage `json:"value"`
	ErrorMessage *string         `json:"errorMessage"`
	Code         string          `json:"code"`
	Message      string          `json:"message"`
}

// Query runs the public query name with args on the server, as one HTTP
// call (/api/query) that reads the newest snapshot: it reflects every
// mutation that returned before it started.
func (c *Client) Query(ctx context.Context, name string, args any) (any, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	a, err := callArgs(name, args)
	if err != nil {
		return nil, err
	}
	raw, err := encodeArgs(a)
	if err != nil {
		return nil, fmt.Errorf("remote: arguments of %s: %w", name, err)
	}
	body := mustMarshal(struct {
		Path   string          `json:"path"`
		Args   json.RawMessage `json:"args"`
		Format string          `json:"format"`
	}{name, raw, "convex_encoded_json"})
	endpoint := c.base.String() + "/api/query"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("remote: query %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("remote: query %s: %w", name, ctx.Err())
		}
		return nil, &TransportError{Op: "query " + name, URL: endpoint, kind: ErrDisconnected, Err: err}
	}
	defer resp.Body.Close()
	return c.queryResult(name, endpoint, resp)
}

// queryResult reads the answer to a query, bounded by MaxMessageBytes.
func (c *Client) queryResult(name, endpoint string, resp *http.Response) (any, error) {
	fail := func(kind, err error) error {
		return &TransportError{Op: "query " + name, URL: endpoint, kind: kind, Err: err}
	}
	limit := c.opts.MaxMessageBytes
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fail(ErrDisconnected, err)
	}
	if int64(len(b)) > limit {
		return nil, fail(ErrProtocol, fmt.Errorf("the answer is larger than %d bytes (Options.MaxMessageBytes)", limit))
	}
	var r httpResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fail(ErrProtocol, fmt.Errorf("HTTP %d with a body that is not a JSON answer: %w", resp.StatusCode, err))
	}
	switch {
	case resp.StatusCode == http.StatusOK && r.Status == "success":
		x, err := decodeValue(r.Value)
		if err != nil {
			return nil, fail(ErrProtocol, fmt.Errorf("the result: %w", err))
		}
		return x, nil
	case resp.StatusCode == statusFunctionFailed && r.ErrorMessage != nil:
		return nil, newFunctionError(name, *r.ErrorMessage)
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, &AuthError{Message: r.Message}
	case r.Message != "":
		return nil, fail(ErrRefused, fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, r.Code, r.Message))
	}
	return nil, fail(ErrProtocol, errors.New("HTTP "+resp.Status+" with an answer of no known shape"))
}
