package vfs

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
)

// Op is a kind of file system operation that an ErrorFS can fail.
type Op int

// Operations an ErrorFS counts and can fail.
const (
	OpWrite Op = iota
	OpSync
	OpSyncDir
	OpCreate
	OpRemove
	numOps
)

var opNames = [...]string{"write", "sync", "syncdir", "create", "remove"}

func (o Op) String() string { return opNames[o] }

// Rule fails operations of kind Op: the Nth one (counting from 1) and,
// with Sticky, every one after it, with Err (EIO when nil).
type Rule struct {
	Op     Op
	Nth    int
	Sticky bool
	Err    error
}

// ParseRule reads a rule written as "OP N" or "OP N+" (sticky) with an
// optional error name: "sync 3+ ENOSPC". Ops: write, sync, syncdir, create,
// remove. Errors: EIO (default), ENOSPC.
func ParseRule(s string) (Rule, error) {
	f := strings.Fields(s)
	if len(f) < 2 || len(f) > 3 {
		return Rule{}, fmt.Errorf("rule %q: want \"OP N[+] [EIO|ENOSPC]\"", s)
	}
	var r Rule
	op := -1
	for i, n := range opNames {
		if n == f[0] {
			op = i
		}
	}
	if op < 0 {
		return Rule{}, fmt.Errorf("rule %q: unknown operation %q", s, f[0])
	}
	r.Op = Op(op)
	n := f[1]
	if strings.HasSuffix(n, "+") {
		r.Sticky, n = true, strings.TrimSuffix(n, "+")
	}
	if _, err := fmt.Sscanf(n, "%d", &r.Nth); err != nil || r.Nth < 1 || fmt.Sprint(r.Nth) != n {
		return Rule{}, fmt.Errorf("rule %q: %q is not a positive count", s, f[1])
	}
	if len(f) == 3 {
		switch f[2] {
		case "EIO":
			r.Err = syscall.EIO
		case "ENOSPC":
			r.Err = syscall.ENOSPC
		default:
			return Rule{}, fmt.Errorf("rule %q: unknown error %q", s, f[2])
		}
	}
	return r, nil
}

// ErrorFS wraps an FS and fails operations as its rules say. It counts
// every operation, so tests can assert, for example, that a failed sync
// was never retried.
type ErrorFS struct {
	FS
	mu     sync.Mutex
	rules  []Rule
	counts [numOps]int
}

// NewErrorFS wraps fs with rules.
func NewErrorFS(fs FS, rules ...Rule) *ErrorFS { return &ErrorFS{FS: fs, rules: rules} }

// Count returns how many operations of kind op were attempted.
func (e *ErrorFS) Count(op Op) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[op]
}

// check counts an operation and returns the error a rule injects.
func (e *ErrorFS) check(op Op) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[op]++
	n := e.counts[op]
	for _, r := range e.rules {
		if r.Op == op && (n == r.Nth || r.Sticky && n > r.Nth) {
			if r.Err == nil {
				return syscall.EIO
			}
			return r.Err
		}
	}
	return nil
}

type errorFile struct {
	File
	fs *ErrorFS
}

func (f errorFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite); err != nil {
		// A failed write may have written part of p.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return f.File.Write(p)
}

func (f errorFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpWrite); err != nil {
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, err
	}
	return f.File.WriteAt(p, off)
}

func (f errorFile) Sync() error {
	if err := f.fs.check(OpSync); err != nil {
		return err
	}
	return f.File.Sync()
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.check(OpCreate); err != nil {
		return nil, err
	}
	f, err := e.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return errorFile{f, e}, nil
}

// OpenReadWrite implements FS.
func (e *ErrorFS) OpenReadWrite(name string) (File, error) {
	f, err := e.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return errorFile{f, e}, nil
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove); err != nil {
		return err
	}
	return e.FS.Remove(name)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.check(OpSyncDir); err != nil {
		return err
	}
	return e.FS.SyncDir(dir)
}

// Lock implements FS.
func (e *ErrorFS) Lock(name string) (io.Closer, error) { return e.FS.Lock(name) }
