package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// TestCorkConn runs corked connections side by side (they share the
// buffer pool) and checks that each peer reads exactly what was written,
// in order, whether corked, uncorked or over corkLimit.
func TestCorkConn(t *testing.T) {
	const conns, rounds = 4, 200
	var wg sync.WaitGroup
	for i := range conns {
		server, client := net.Pipe()
		c := &corkConn{Conn: server}
		var want bytes.Buffer
		chunks := make([][]byte, 0, rounds)
		for r := range rounds {
			chunk := bytes.Repeat([]byte(fmt.Sprintf("[%d:%d]", i, r)), 1+(r*37)%3000)
			chunks = append(chunks, chunk)
			want.Write(chunk)
		}
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(client)
			got <- b
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for r, chunk := range chunks {
				if r%3 != 0 {
					c.cork()
				}
				if _, err := c.Write(chunk); err != nil {
					t.Error(err)
					return
				}
				if r%3 == 2 {
					if err := c.uncork(); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if err := c.uncork(); err != nil {
				t.Error(err)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b := <-got; !bytes.Equal(b, want.Bytes()) {
				t.Errorf("connection %d: read %d bytes, want %d (or other bytes)", i, len(b), want.Len())
			}
		}()
	}
	wg.Wait()
}
