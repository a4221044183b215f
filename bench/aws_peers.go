package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The reference systems of `courier bench aws`: goaws and kinesalite,
// built or installed from the sources in bench/awspeers into a cache
// directory and run as child processes on 127.0.0.1 (peerProcess, which
// runs courier serve too).

// Versions of the peers, pinned by bench/awspeers/goaws/go.mod and
// bench/awspeers/kinesalite/package-lock.json.
const (
	GoawsVersion      = "v0.4.5"
	KinesaliteVersion = "3.3.3"
)

// DefaultAWSPeersDir returns the default cache directory of the peers:
// courier-bench-aws in the user's cache directory (os.TempDir() when
// there is none).
func DefaultAWSPeersDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "courier-bench-aws")
}

// DefaultAWSPeersSrc returns where the peers' sources are: bench/awspeers
// beside the bench package's source files when they exist (a checkout of
// courier, as `go run` and `go test` use), else bench/awspeers under the
// working directory.
func DefaultAWSPeersSrc() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "awspeers")
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	return filepath.Join("bench", "awspeers")
}

// sourceStamp hashes the named files of dir: a cached build is reused
// while it matches.
func sourceStamp(dir string, files ...string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stamped reports whether path exists and stampFile holds stamp.
func stamped(path, stampFile, stamp string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	got, err := os.ReadFile(stampFile)
	return err == nil && strings.TrimSpace(string(got)) == stamp
}

// runTool runs name with args in dir and returns its combined output in
// the error when it fails.
func runTool(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(out, 2000))
	}
	return nil
}

// tail returns the last n bytes of b, trimmed.
func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// setupGoaws builds goaws-local (bench/awspeers/goaws, a module of its own
// that downloads goaws from the module proxy) into cache, unless a build of
// the same sources is there, and returns the binary's path. It needs go on
// PATH.
func setupGoaws(ctx context.Context, src, cache string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go is not on PATH: %w", err)
	}
	dir := filepath.Join(src, "goaws")
	stamp, err := sourceStamp(dir, "go.mod", "go.sum", "main.go")
	if err != nil {
		return "", fmt.Errorf("sources: %w (set --peers-src to a checkout's bench/awspeers)", err)
	}
	bin := filepath.Join(cache, "goaws-local")
	if stamped(bin, bin+".stamp", stamp) {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	// GOWORK=off: the peer is its own module, whatever go.work is around.
	if err := runTool(ctx, dir, []string{"GOWORK=off", "GOFLAGS=-mod=readonly"}, goTool, "build", "-o", bin, "."); err != nil {
		return "", err
	}
	return bin, os.WriteFile(bin+".stamp", []byte(stamp+"\n"), 0o644)
}

// setupKinesalite copies bench/awspeers/kinesalite into cache/kinesalite
// and installs its locked dependencies there with npm ci, unless an
// install of the same lock file is there, and returns the path of
// serve.js. It needs node and npm on PATH.
func setupKinesalite(ctx context.Context, src, cache string) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("node is not on PATH: %w", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is not on PATH: %w", err)
	}
	from := filepath.Join(src, "kinesalite")
	files := []string{"package.json", "package-lock.json", "serve.js"}
	stamp, err := sourceStamp(from, files...)
	if err != nil {
		return "", fmt.Errorf("sources: %w (set --peers-src to a checkout's bench/awspeers)", err)
	}
	dir := filepath.Join(cache, "kinesalite")
	serve := filepath.Join(dir, "serve.js")
	if stamped(filepath.Join(dir, "node_modules", "kinesalite"), filepath.Join(dir, ".stamp"), stamp) {
		return serve, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return "", err
		}
	}
	// npm warns that leveldown's install script did not run: kinesalite's
	// in-memory store does not need it.
	if err := runTool(ctx, dir, nil, npm, "ci", "--no-audit", "--no-fund"); err != nil {
		return "", err
	}
	return serve, os.WriteFile(filepath.Join(dir, ".stamp"), []byte(stamp+"\n"), 0o644)
}

// peerProcess is a server of `courier bench aws` running as a child
// process on 127.0.0.1: courier serve, goaws or kinesalite.
type peerProcess struct {
	name  string
	cmd   *exec.Cmd
	addr  string         // host:port
	stdin io.WriteCloser // closed to ask the process to exit, or nil
	// interrupt asks close to stop the process with SIGINT and to report
	// a failed exit (courier serve: drain, sync, close, exit 0).
	interrupt bool
	output    *tailBuffer   // the end of its stderr (and stdout)
	exited    chan struct{} // closed when Wait returned
	err       error         // Wait's result, once exited is closed
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tail(t.buf, 4096)
}

// start starts cmd and waits for it in a goroutine that close ends.
func (p *peerProcess) start() error {
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	p.exited = make(chan struct{})
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	return nil
}

// failed returns err with the process's output, for a process that did
// not come up.
func (p *peerProcess) failed(err error) error {
	return errors.Join(fmt.Errorf("%s: %w; its output: %s", p.name, err, p.output.String()), p.close())
}

// close stops the process and waits for it: with interrupt set it sends
// SIGINT and waits up to 30s, and returns an error when the process then
// exits with a failure or must be killed; with stdin it closes stdin and
// waits up to 1s; then it kills the process.
func (p *peerProcess) close() error {
	if p.exited == nil {
		return nil
	}
	if p.interrupt && p.cmd.Process.Signal(os.Interrupt) == nil {
		select {
		case <-p.exited:
			if p.err != nil {
				return fmt.Errorf("%s: exit: %w; its output: %s", p.name, p.err, p.output.String())
			}
			return nil
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill() // it may have exited meanwhile
			<-p.exited
			return fmt.Errorf("%s: still running 30s after SIGINT; killed; its output: %s", p.name, p.output.String())
		}
	}
	if p.stdin != nil {
		_ = p.stdin.Close() // the process may have exited already
		select {
		case <-p.exited:
			return nil
		case <-time.After(time.Second):
		}
	}
	_ = p.cmd.Process.Kill() // it may have exited meanwhile
	<-p.exited
	return nil
}

// awaitListening waits until listening delivers the process's address,
// for up to timeout.
func (p *peerProcess) awaitListening(ctx context.Context, listening <-chan string, timeout time.Duration) (*peerProcess, error) {
	select {
	case p.addr = <-listening:
		return p, nil
	case <-p.exited:
		return nil, p.failed(fmt.Errorf("exited: %v", p.err))
	case <-ctx.Done():
		return nil, p.failed(context.Cause(ctx))
	case <-time.After(timeout):
		return nil, p.failed(fmt.Errorf("not listening after %v", timeout))
	}
}

// listenWatcher is a child's output stream: it sends the address that
// addr finds in a line to listening, once, and copies the rest to out.
type listenWatcher struct {
	out       io.Writer
	addr      func(line string) (string, bool)
	listening chan<- string
	line      []byte
	found     bool
}

func (w *listenWatcher) Write(p []byte) (int, error) {
	if w.found {
		return w.out.Write(p)
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.line[:i])
		w.line = w.line[i+1:]
		fmt.Fprintln(w.out, line)
		if addr, ok := w.addr(line); ok {
			w.found = true
			w.listening <- addr
			_, _ = w.out.Write(w.line) // the tail buffer does not fail
			return len(p), nil
		}
	}
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free
// a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// goawsConfig is goaws's YAML configuration for a server on port.
const goawsConfig = `Local:
  Host: 127.0.0.1
  Port: %s
  Region: us-east-1
  AccountId: "000000000000"
  LogToFile: false
  EnableDuplicates: false
  QueueAttributeDefaults:
    VisibilityTimeout: 30
    ReceiveMessageWaitTimeSeconds: 0
    MaximumMessageSize: 262144
`

// startGoaws runs goaws-local (bin) on a free port of 127.0.0.1, its
// configuration in dir, and waits until it answers GET /health.
func startGoaws(ctx context.Context, bin, dir string) (*peerProcess, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "goaws.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, goawsConfig, port), 0o644); err != nil {
		return nil, err
	}
	p := &peerProcess{name: "goaws", addr: addr, output: &tailBuffer{}}
	p.cmd = exec.Command(bin, "-addr", addr, "-config", conf)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.start(); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return nil, p.failed(fmt.Errorf("exited: %v", p.err))
		case <-ctx.Done():
			return nil, p.failed(context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, p.failed(fmt.Errorf("no answer on %s after 20s", addr))
		}
	}
}

// startKinesalite runs serve.js with node on a free port of 127.0.0.1 and
// waits until it says where it listens. The process exits when its stdin
// closes.
func startKinesalite(ctx context.Context, serveJS string) (*peerProcess, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	p := &peerProcess{name: "kinesalite", output: &tailBuffer{}}
	p.cmd = exec.Command(node, serveJS, "0")
	p.cmd.Dir = filepath.Dir(serveJS)
	p.cmd.Stderr = p.output
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	listening := make(chan string, 1)
	p.cmd.Stdout = &listenWatcher{out: p.output, listening: listening, addr: func(line string) (string, bool) {
		return strings.CutPrefix(line, "listening ")
	}}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p.awaitListening(ctx, listening, 30*time.Second)
}
