package livedb

import (
	"errors"
	"io/fs"
	"strings"
)

// errPrefix begins the text of every livedb error.
const errPrefix = "livedb: "

// wrapError is an error with a text of its own that wraps errs: for the
// texts that fmt.Errorf cannot build without repeating the "livedb: "
// prefix of a wrapped livedb error.
type wrapError struct {
	text string
	errs []error
}

// Error returns the text.
func (e *wrapError) Error() string { return e.text }

// Unwrap returns the wrapped errors, for errors.Is and errors.As.
func (e *wrapError) Unwrap() []error { return e.errs }

// wrapErr returns an error that reads head, ": ", and err's text without its
// "livedb: " prefix, and that wraps err and also: a livedb error wrapping
// another reads "livedb: export: schema: table ...", not "livedb: export:
// schema: livedb: table ...". head begins with the prefix.
func wrapErr(head string, err error, also ...error) error {
	return &wrapError{
		text: head + ": " + strings.TrimPrefix(err.Error(), errPrefix),
		errs: append(also, err),
	}
}

// notLivedb returns the error of Open for a file it cannot use because of
// err: "livedb: not a livedb database: <path>: <what is wrong>", with one
// "livedb: " prefix and the path named once. What is wrong is err's text
// without ErrNotLivedb's (or another livedb error's) prefix; the path is
// left out when err names it already (an *fs.PathError of the file, as the
// storage layer returns, inside err's text) or when there is none (a memory
// database); err that is the storage layer's error of opening the file
// gives its cause after the path.
// errors.Is finds ErrNotLivedb and everything err wraps.
func notLivedb(path string, err error) error {
	if errors.As(err, new(*notLivedbError)) {
		return err
	}
	what := strings.TrimPrefix(err.Error(), ErrNotLivedb.Error())
	what = strings.TrimPrefix(strings.TrimPrefix(what, ": "), errPrefix)
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && error(pe) == err && pe.Path == path && pe.Op == "open":
		what = path + ": " + pe.Err.Error() // not "open <path>: ..."
	case path != "" && !(errors.As(err, &pe) && pe.Path == path):
		what = path + ": " + what
	}
	return &notLivedbError{wrapError{
		text: strings.TrimSuffix(ErrNotLivedb.Error()+": "+what, ": "),
		errs: []error{ErrNotLivedb, err},
	}}
}

// notLivedbError is an error made by notLivedb, which it leaves as it is.
type notLivedbError struct{ wrapError }
