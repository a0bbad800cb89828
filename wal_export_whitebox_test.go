package livedb

import "github.com/livedb-go/livedb/internal/kv/walkv"

// The write-ahead log's insides that the black-box tests set (this file is
// compiled only into the test binary).

// OpenCheckpointing is Open of a database file whose store checkpoints
// once its overlay holds checkpointBytes (1: after nearly every commit),
// in the background as usual.
func OpenCheckpointing(path string, schema *Schema, opts *Options, checkpointBytes int64) (*DB, error) {
	o := opts.withDefaults()
	store, err := openFileStore(path, o, &walkv.Options{CheckpointBytes: checkpointBytes})
	if err != nil {
		return nil, err
	}
	db, err := open(store, path, schema, o)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return db, nil
}

// SetWALHook sets the function the store calls at its crash points
// ("appended", "checkpointed"; see walkv.Hook), or none with nil. Set it
// in a process of its own, before the commits it watches.
func SetWALHook(fn func(point string)) { walkv.Hook = fn }
