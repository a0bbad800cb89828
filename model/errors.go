package model

import "errors"

// Errors of the model's helpers and functions. They are wrapped with the
// workflow or session concerned; test them with errors.Is.
var (
	// ErrUnauthenticated is returned by a public function called without
	// an identity in its context.
	ErrUnauthenticated = errors.New("model: not authenticated")
	// ErrForbidden is returned by a public function when the caller is not
	// the owner of the workflow it names.
	ErrForbidden = errors.New("model: forbidden: the caller does not own the workflow")
	// ErrNotFound is returned for a workflow or session that does not
	// exist.
	ErrNotFound = errors.New("model: not found")
	// ErrInvalidTransition is returned for a change a workflow or session
	// cannot make in its current state, such as completing a session that
	// is not running or cancelling a finished workflow.
	ErrInvalidTransition = errors.New("model: invalid state transition")
	// ErrInvalidArgument is returned for arguments that pass the
	// validators but make no sense, such as an empty task or a reviewer's
	// completion without a verdict.
	ErrInvalidArgument = errors.New("model: invalid argument")
)
