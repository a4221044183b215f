package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net/url"

	"github.com/courier-io/courier/driver"
)

func init() {
	driver.Register("mem", openMem)
	driver.Register("file", openFile)
}

// memConn is the mem:// driver: the engine without a journal. Everything is
// lost on Close.
type memConn struct{ *Engine }

func openMem(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	if len(u.Query()) > 0 {
		return nil, driver.Invalid("url", "mem:// takes no options; got %q", u.RawQuery)
	}
	e := newEngine(nil, opts.Logger)
	e.nonce = randomNonce()
	e.start()
	return memConn{e}, nil
}

// Close stops the engine; later calls fail with ErrClosed.
func (c memConn) Close() error {
	c.stop()
	return nil
}

func randomNonce() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.BigEndian.Uint64(b[:])
}
