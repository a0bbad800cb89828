// Package fsutil holds the file-system steps that durable storage needs
// beyond writing and syncing a file's own data.
//
// fsync of a file makes its contents durable, not its name: a file created
// (or renamed into place) can vanish in a crash of the machine until the
// directory that holds it is synced too. Every store that creates a file it
// will acknowledge writes from (the bbolt file today, a write-ahead log
// later) calls [SyncDir] on the file's directory once the file exists.
//
// [OpenFile] opens the files a database open reads with blocking calls
// without registering them with the runtime's poller.
package fsutil
