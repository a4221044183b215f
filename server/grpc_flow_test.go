package server

import (
	"errors"
	"testing"

	"github.com/courier-io/courier/driver"
)

// TestWindows checks the bookkeeping of flow control: sending uses
// credit, settling a receipt returns its unit once and only to the window
// of its source, grants are bounded, and closing forgets the window.
func TestWindows(t *testing.T) {
	ws := newWindows()
	a := ws.open("queue:a", 2)
	b := ws.open("queue:b", 1)
	ws.sent(a, []string{"r1", "r2"})
	ws.sent(b, []string{"r1"})
	if got := ws.available(a); got != 0 {
		t.Fatalf("after sending 2 of 2: available %d", got)
	}
	ws.settle("queue:a", []string{"r1", "r1", "unknown"})
	if got := ws.available(a); got != 1 {
		t.Fatalf("after settling r1 twice: available %d, want 1", got)
	}
	select {
	case <-a.wake:
	default:
		t.Error("settling did not wake the window")
	}
	if got := ws.available(b); got != 0 {
		t.Errorf("a receipt of another source returned b's unit: available %d", got)
	}
	if err := ws.grant(a, MaxCredit); !errors.Is(err, driver.ErrInvalid) {
		t.Errorf("grant past MaxCredit: %v, want invalid", err)
	}
	if err := ws.grant(a, 0); !errors.Is(err, driver.ErrInvalid) {
		t.Errorf("grant of 0: %v, want invalid", err)
	}
	if err := ws.grant(a, 3); err != nil || ws.available(a) != 4 {
		t.Errorf("grant 3: %v, available %d, want 4", err, ws.available(a))
	}
	if left := ws.close(a); len(left) != 1 || left[0] != "r2" {
		t.Errorf("close: unsettled %v, want [r2]", left)
	}
	ws.settle("queue:a", []string{"r2"})
	if len(ws.byReceipt) != 1 {
		t.Errorf("after closing a: %d receipts registered, want b's 1", len(ws.byReceipt))
	}
}
