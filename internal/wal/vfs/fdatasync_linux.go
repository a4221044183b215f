package vfs

import (
	"os"
	"syscall"
)

// fdatasync flushes file data and the metadata needed to read it back
// (size), skipping timestamps: cheaper than fsync for appends. It is never
// retried: after a failed sync the kernel may have dropped the dirty pages,
// so a second sync could succeed without the data being on disk.
func fdatasync(f *os.File) error {
	return syscall.Fdatasync(int(f.Fd()))
}
