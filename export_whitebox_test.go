package livedb

// This file gives the package's black-box tests (package livedb_test) the
// few insides they check, as the standard library's export_test.go files
// do; it is compiled only into the test binary. (The tests of package
// snapshot's Export are in snapshot_export_test.go.)

// SubscriptionReruns returns how many times the query function of s was
// re-run after its first run. Stats.Reruns is the total of a DB.
func SubscriptionReruns[T any](s *Subscription[T]) int64 { return s.state.reruns.Load() }
