package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExample serves the page and the in-memory server as main does, and
// then does what the page does: subscribe to the topic with credit,
// publish, and get the message. A second handler forwards to the first, as
// with -server.
func TestExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	h, closeHandler, err := newHandler(ctx, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer closeHandler()

	proxy, closeProxy, err := newHandler(ctx, ts.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer closeProxy()
	ps := httptest.NewServer(proxy)
	defer ps.Close()

	for _, base := range []string{ts.URL, ps.URL} {
		resp, err := ts.Client().Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"subscribe"`) {
			t.Fatalf("GET %s/: %d, %d bytes", base, resp.StatusCode, len(body))
		}

		// As the browser page: same origin, then the same frames.
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws",
			&websocket.DialOptions{HTTPHeader: map[string][]string{"Origin": {base}}})
		if err != nil {
			t.Fatalf("dial through %s: %v", base, err)
		}
		write := func(frame string) {
			if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				t.Fatal(err)
			}
		}
		write(`{"op":"subscribe","id":"1","sub":"page","topic":"demo","raw":true,"credit":20}`)
		write(`{"op":"publish","id":"2","topic":"demo","body":"hello from the browser"}`)
		got := map[string]bool{}
		for !got["message"] {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var f struct {
				Op      string
				Message struct{ Body string }
			}
			if err := json.Unmarshal(data, &f); err != nil || f.Op == "error" {
				t.Fatalf("frame %s (%v)", data, err)
			}
			got[f.Op] = true
			if f.Op == "message" && f.Message.Body != "hello from the browser" {
				t.Fatalf("message %s", data)
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
}
