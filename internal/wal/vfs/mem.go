package vfs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// MemFS is an in-memory FS that keeps, per file, what was written and what
// was synced, and per directory which entries were synced. Its
// ResetToSyncedState simulates power loss: everything not made durable by
// Sync or SyncDir disappears. It is safe for concurrent use.
type MemFS struct {
	mu    sync.Mutex
	files map[string]*memNode // live namespace
	// durable is the namespace as it would be found after power loss:
	// entries whose directory was synced, pointing at the nodes.
	durable map[string]*memNode
	locks   map[string]bool
	dirs    map[string]bool
}

type memNode struct {
	data   []byte
	synced []byte
}

// NewStrictMem returns an empty MemFS.
func NewStrictMem() *MemFS {
	return &MemFS{files: map[string]*memNode{}, durable: map[string]*memNode{}, locks: map[string]bool{}, dirs: map[string]bool{}}
}

// ResetToSyncedState drops all unsynced data and directory entries, as a
// power loss would, and releases all locks (the process died).
func (fs *MemFS) ResetToSyncedState() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files = map[string]*memNode{}
	for name, n := range fs.durable {
		n.data = append([]byte(nil), n.synced...)
		fs.files[name] = n
	}
	fs.locks = map[string]bool{}
}

// Corrupt applies fn to the live bytes of file name (for tests that flip
// bits); the change counts as synced.
func (fs *MemFS) Corrupt(name string, fn func([]byte) []byte) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.files[filepath.Clean(name)]
	if n == nil {
		return os.ErrNotExist
	}
	n.data = fn(n.data)
	n.synced = append([]byte(nil), n.data...)
	return nil
}

type memFile struct {
	fs     *MemFS
	n      *memNode
	name   string
	write  bool
	closed bool
}

func (fs *MemFS) open(name string, create, truncate, write bool) (File, error) {
	name = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.dirs[filepath.Dir(name)] {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	n := fs.files[name]
	if n == nil {
		if !create {
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
		}
		n = &memNode{}
		fs.files[name] = n
	}
	if truncate {
		n.data = nil
	}
	return &memFile{fs: fs, n: n, name: name, write: write}, nil
}

// Create implements FS.
func (fs *MemFS) Create(name string) (File, error) { return fs.open(name, true, true, true) }

// OpenReadWrite implements FS.
func (fs *MemFS) OpenReadWrite(name string) (File, error) { return fs.open(name, false, false, true) }

// Open implements FS.
func (fs *MemFS) Open(name string) (File, error) { return fs.open(name, false, false, false) }

// Remove implements FS.
func (fs *MemFS) Remove(name string) error {
	name = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.files[name] == nil {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	delete(fs.files, name)
	return nil
}

// Rename implements FS.
func (fs *MemFS) Rename(oldname, newname string) error {
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.files[oldname]
	if n == nil {
		return &os.PathError{Op: "rename", Path: oldname, Err: os.ErrNotExist}
	}
	delete(fs.files, oldname)
	fs.files[newname] = n
	return nil
}

// MkdirAll implements FS; directories themselves are always durable.
func (fs *MemFS) MkdirAll(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fs.dirs[d] = true
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// List implements FS.
func (fs *MemFS) List(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.dirs[dir] {
		return nil, &os.PathError{Op: "readdir", Path: dir, Err: os.ErrNotExist}
	}
	var names []string
	for name := range fs.files {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	sort.Strings(names)
	return names, nil
}

// SyncDir implements FS: the entries of dir become durable as they are now.
func (fs *MemFS) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for name := range fs.durable {
		if filepath.Dir(name) == dir {
			delete(fs.durable, name)
		}
	}
	for name, n := range fs.files {
		if filepath.Dir(name) == dir {
			fs.durable[name] = n
		}
	}
	return nil
}

type memLock struct {
	fs   *MemFS
	name string
}

func (l memLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	delete(l.fs.locks, l.name)
	return nil
}

// Lock implements FS.
func (fs *MemFS) Lock(name string) (io.Closer, error) {
	name = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.locks[name] {
		return nil, fmt.Errorf("in use by pid %d: %w", os.Getpid(), ErrLocked)
	}
	fs.locks[name] = true
	return memLock{fs, name}, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if !f.write {
		return 0, fmt.Errorf("write %s: file is read-only", f.name)
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.n.data = append(f.n.data, p...)
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if !f.write {
		return 0, fmt.Errorf("write %s: file is read-only", f.name)
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(f.n.data)) {
		f.n.data = append(f.n.data, make([]byte, end-int64(len(f.n.data)))...)
	}
	copy(f.n.data[off:], p)
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.n.synced = append(f.n.synced[:0], f.n.data...)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if size < int64(len(f.n.data)) {
		f.n.data = f.n.data[:size]
	} else {
		f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return int64(len(f.n.data)), nil
}

func (f *memFile) Close() error { return nil }

// String lists the files, for test failure messages.
func (fs *MemFS) String() string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var b strings.Builder
	for name, n := range fs.files {
		fmt.Fprintf(&b, "%s: %d bytes (%d synced)\n", name, len(n.data), len(n.synced))
	}
	return b.String()
}
