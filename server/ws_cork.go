package server

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// corkConn batches a WebSocket connection's writes: while its writer holds
// it corked, writes are gathered, and uncork sends them in one system call.
// The writer corks around each batch of queued frames, so a burst of
// deliveries costs one write instead of one per frame. Writes of other
// goroutines (pongs, pings) join the batch; writes while uncorked go
// straight through.
type corkConn struct {
	net.Conn
	mu     sync.Mutex // serializes the writes to Conn
	corked bool
	buf    *[]byte // gathered bytes while corked; nil otherwise
}

// corkLimit is the most bytes gathered before they are written anyway.
const corkLimit = 64 << 10

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, corkLimit); return &b }}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was gathered and lets writes through again.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *corkConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	buf := c.buf
	c.buf = nil
	var err error
	if len(*buf) > 0 {
		_, err = c.Conn.Write(*buf)
	}
	*buf = (*buf)[:0]
	corkPool.Put(buf) // once written: an idle connection holds no buffer
	return err
}

// Write gathers p while corked (up to corkLimit), else writes it.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		if c.buf == nil {
			c.buf = corkPool.Get().(*[]byte)
		}
		if len(*c.buf)+len(p) <= corkLimit {
			*c.buf = append(*c.buf, p...)
			return len(p), nil
		}
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

// corkHijacker hands the WebSocket library a corkConn in place of the
// hijacked connection.
type corkHijacker struct {
	http.ResponseWriter
	conn *corkConn
}

func (h *corkHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The 101 answer is flushed: the writer is empty and can write
	// through the corkConn from now on.
	h.conn = &corkConn{Conn: conn}
	brw.Writer.Reset(h.conn)
	return h.conn, brw, nil
}

// Unwrap gives http.ResponseController the writer underneath.
func (h *corkHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
