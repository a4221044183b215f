// Package wal is courier's storage engine: a segmented append-only log.
//
// Records are framed with a length, a CRC-32C and a type (record.go) and
// appended to segment files named by a 20-digit ID (00000000000000000001.log,
// 64 MiB by default). Write copies records into a buffer and returns their
// positions at once; one writer goroutine writes each buffered batch and
// covers it with one fdatasync (group commit), so many concurrent writers
// share one sync, and a Commit completes only when its batch is durable.
// Sync modes: always (default), interval=D, none.
//
// Open recovers: it loads the last checkpoint (a snapshot the caller stores
// with Checkpoint, tagged with a log position) and checks every record
// after it. A torn tail of the newest segment (a write cut short by a
// crash) is truncated and logged; damage anywhere else fails Open with an
// error naming the segment and offset, unless Options.Repair quarantines
// the damaged bytes and reports them (Repaired).
//
// A failed write or sync is final: the log reports ErrStorage for every
// later Write, never retries the sync, and keeps serving reads. The
// directory is locked against a second opener. All file access goes
// through package vfs, so tests inject power loss and disk errors.
package wal
