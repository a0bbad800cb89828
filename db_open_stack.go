package livedb

import "sync/atomic"

// Open of a file runs on the caller's goroutine, and deep in it bbolt reads
// the file's first page into a 4 KiB array on the stack
// (getPageSizeFromFirstMeta), which a goroutine that is new, or whose stack
// the garbage collector shrank, has no room for: its stack grows there, at
// the bottom of a dozen frames of livedb and bbolt. Growing copies the used
// stack and walks every frame on it, reading each function's stack maps
// from the binary's pclntab; in a fresh process those are pages read for
// the first time, each a page fault. reserveOpenStack grows the stack at
// the top of Open instead, where the walk is a few frames long, to a size
// that holds the rest of Open and its first query. Measured in fresh
// processes (W7 of issue 19, whitebox probe, 41 each, alternated): the
// open's page faults 65 -> 58 and its CPU time -280 us (medians). A
// goroutine whose stack is already that large pays an 8 KiB clear.

// openStackReserve is the stack reserveOpenStack asks for beyond what is in
// use; the stack then grows to at least 16 KiB.
const openStackReserve = 8 << 10

// reserveOpenStack has a frame of openStackReserve bytes, so that its call
// grows the goroutine's stack to hold them. i only keeps the frame from
// being optimized away.
//
//go:noinline
func reserveOpenStack(i int) byte {
	var pad [openStackReserve]byte
	if h := testHookOpenStack.Load(); h != nil {
		(*h)()
	}
	return pad[uint(i)%openStackReserve]
}

// testHookOpenStack, when a test sets it, runs in reserveOpenStack, once
// the reserved frame is on the stack.
var testHookOpenStack atomic.Pointer[func()]
