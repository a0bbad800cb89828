package livedb

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strings"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// storeErr turns an error of the storage layer into livedb's: a closed
// store is ErrClosed, a damaged bbolt file ErrCorrupt, and another error
// about the file (an *fs.PathError, whose text names no package) or a
// batch that the memory store refused gets livedb's prefix. Other errors,
// such as livedb's own and the context's, pass unchanged.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kv.ErrClosed):
		return ErrClosed
	case errors.Is(err, bboltkv.ErrCorrupt) && !errors.Is(err, ErrCorrupt):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	case errors.As(err, new(*fs.PathError)) && !strings.HasPrefix(err.Error(), errPrefix),
		errors.Is(err, memkv.ErrEmptyKey), errors.Is(err, memkv.ErrKeyTooLarge):
		return fmt.Errorf("livedb: %w", err)
	}
	return err
}

// guardFaults makes a memory fault of this goroutine (reading a damaged or
// truncated bbolt file through its memory map) a panic that catchFault can
// turn into an error. Use it as
//
//	defer catchFault(&err, guardFaults())
//
// in a function with a named error result.
func guardFaults() bool { return debug.SetPanicOnFault(true) }

// catchFault restores the fault setting and turns a memory fault into an
// error wrapping ErrCorrupt; any other panic goes on.
func catchFault(errp *error, old bool) {
	debug.SetPanicOnFault(old)
	r := recover()
	if r == nil {
		return
	}
	if re, ok := r.(interface{ Addr() uintptr }); ok {
		*errp = fmt.Errorf("%w: memory fault at %#x reading the database file: %v", ErrCorrupt, re.Addr(), r)
		return
	}
	panic(r)
}
