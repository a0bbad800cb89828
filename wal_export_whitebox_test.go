package livedb

// The write-ahead log's insides that the black-box tests of wal_test.go
// set (this file is compiled only into the test binary).

// SetWALHook sets the function called at the log's crash points
// ("appended", "synced"; see walHook), or none with nil. Set it before
// Open, in a process of its own: it is not synchronised.
func SetWALHook(fn func(point string)) { walHook = fn }
