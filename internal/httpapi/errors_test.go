package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// errorTable is the table that docs/http-api.md documents.
var errorTable = []struct {
	err    error
	status int
	code   string
}{
	{driver.ErrNotFound, http.StatusNotFound, "not_found"},
	{driver.ErrExists, http.StatusConflict, "exists"},
	{driver.ErrConflict, http.StatusConflict, "conflict"},
	{driver.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{driver.ErrInvalid, http.StatusBadRequest, "invalid_argument"},
	{driver.ErrStorage, http.StatusServiceUnavailable, "storage_failed"},
	{driver.ErrClosed, http.StatusServiceUnavailable, "closed"},
	{driver.ErrReceiptInvalid, http.StatusBadRequest, "receipt_invalid"},
	{driver.ErrUnsupported, http.StatusNotImplemented, "unsupported"},
	{context.DeadlineExceeded, http.StatusGatewayTimeout, "deadline_exceeded"},
	{context.Canceled, http.StatusServiceUnavailable, "canceled"},
}

// overTheWire encodes e as a server does and decodes it as a client does.
func overTheWire(t *testing.T, e httpapi.Error) httpapi.Error {
	t.Helper()
	b, err := json.Marshal(httpapi.ErrorResponse{Error: e})
	if err != nil {
		t.Fatal(err)
	}
	var back httpapi.ErrorResponse
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return back.Error
}

func TestErrorTableRoundTrip(t *testing.T) {
	codes := map[string]bool{}
	for _, c := range errorTable {
		t.Run(c.code, func(t *testing.T) {
			if codes[c.code] {
				t.Fatalf("code %q is used twice", c.code)
			}
			codes[c.code] = true
			// As the engine and the courier API wrap it.
			err := fmt.Errorf("queue %q: send: %w", "orders", fmt.Errorf("engine: %w", c.err))
			status, e := httpapi.ErrorOf(err)
			if status != c.status || e.Code != c.code {
				t.Fatalf("ErrorOf = %d %q, want %d %q", status, e.Code, c.status, c.code)
			}
			if e.Message != err.Error() || e.Field != "" {
				t.Errorf("error object %+v: want the message %q and no field", e, err.Error())
			}
			back := overTheWire(t, e).Err()
			if !errors.Is(back, c.err) {
				t.Errorf("Err() = %v does not match %v", back, c.err)
			}
			if back.Error() != err.Error() {
				t.Errorf("Err().Error() = %q, want %q", back.Error(), err.Error())
			}
			for _, other := range errorTable {
				if other.err != c.err && errors.Is(back, other.err) {
					t.Errorf("Err() = %v also matches %v", back, other.err)
				}
			}
			// The bare sentinel maps the same way.
			if s, e := httpapi.ErrorOf(c.err); s != c.status || e.Code != c.code {
				t.Errorf("ErrorOf(bare) = %d %q", s, e.Code)
			}
		})
	}
}

func TestValidationErrorKeepsField(t *testing.T) {
	for _, c := range []struct {
		err          *driver.ValidationError
		status       int
		code, reason string
	}{
		{driver.Invalid("messages[3].delay", "-1s is out of range; accepted is 0s to 15m0s"), http.StatusBadRequest, "invalid_argument", "-1s is out of range; accepted is 0s to 15m0s"},
		{driver.TooLarge("messages", "batch has 1001 messages; the limit is 1000"), http.StatusRequestEntityTooLarge, "too_large", "batch has 1001 messages; the limit is 1000"},
		// A reason that repeats the field keeps it.
		{driver.Invalid("wait", "wait: is odd"), http.StatusBadRequest, "invalid_argument", "wait: is odd"},
	} {
		t.Run(c.err.Field, func(t *testing.T) {
			wrapped := fmt.Errorf("queue %q: send: %w", "orders", c.err)
			status, e := httpapi.ErrorOf(wrapped)
			if status != c.status || e.Code != c.code || e.Field != c.err.Field {
				t.Fatalf("ErrorOf = %d %+v, want %d %q on %q", status, e, c.status, c.code, c.err.Field)
			}
			back := overTheWire(t, e).Err()
			var ve *driver.ValidationError
			if !errors.As(back, &ve) {
				t.Fatalf("Err() = %T %v, want a *driver.ValidationError", back, back)
			}
			if ve.Field != c.err.Field || ve.TooLarge != c.err.TooLarge || ve.Reason != c.reason {
				t.Errorf("Err() = %+v, want field %q, reason %q, too large %v", ve, c.err.Field, c.reason, c.err.TooLarge)
			}
			// Not "field: field: reason" after a round trip.
			if got, want := back.Error(), c.err.Error(); got != want {
				t.Errorf("Err().Error() = %q, want %q", got, want)
			}
			sentinel := driver.ErrInvalid
			if c.err.TooLarge {
				sentinel = driver.ErrTooLarge
			}
			if !errors.Is(back, sentinel) || errors.Is(back, driver.ErrNotFound) {
				t.Errorf("Err() = %v: want it to match %v only", back, sentinel)
			}
		})
	}
}

func TestErrorOfUnknown(t *testing.T) {
	status, e := httpapi.ErrorOf(errors.New("disk on fire"))
	if status != http.StatusInternalServerError || e.Code != "internal" || e.Message != "disk on fire" {
		t.Fatalf("ErrorOf = %d %+v, want 500 internal", status, e)
	}
	back := e.Err()
	for _, c := range errorTable {
		if errors.Is(back, c.err) {
			t.Errorf("an internal error matches %v", c.err)
		}
	}
	if !strings.Contains(back.Error(), "internal") || !strings.Contains(back.Error(), "disk on fire") {
		t.Errorf("Err() = %q: want the code and the message", back)
	}
	// A code this client does not know is kept in the message.
	if got := (httpapi.Error{Code: "quota_exceeded", Message: "slow down"}).Err().Error(); !strings.Contains(got, "quota_exceeded") || !strings.Contains(got, "slow down") {
		t.Errorf("unknown code: Err() = %q", got)
	}
}

// TestErrorOfJoined: an error that matches several sentinels takes the
// first row of the table (the more specific).
func TestErrorOfJoined(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{errors.Join(driver.ErrNotFound, driver.Invalid("name", "bad")), "invalid_argument"},
		{errors.Join(driver.ErrInvalid, driver.ErrTooLarge), "too_large"},
		{errors.Join(driver.ErrClosed, context.Canceled), "closed"},
		{errors.Join(driver.ErrReceiptInvalid, driver.ErrReceiptInvalid), "receipt_invalid"},
	} {
		if _, e := httpapi.ErrorOf(c.err); e.Code != c.code {
			t.Errorf("ErrorOf(%v) = %q, want %q", c.err, e.Code, c.code)
		}
	}
}

// TestCloseCodeOf: the WebSocket close code of an error that ends a
// connection follows the error table's code; every code has one.
func TestCloseCodeOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("server shutting down: %w", driver.ErrClosed), httpapi.CloseGoingAway},
		{context.Canceled, httpapi.CloseGoingAway},
		{driver.TooLarge("frame", "too big"), httpapi.CloseMessageTooBig},
		{fmt.Errorf("binary frames: %w", driver.ErrUnsupported), httpapi.CloseUnsupportedData},
		{driver.Invalid("op", "bad"), httpapi.ClosePolicyViolation},
		{context.DeadlineExceeded, httpapi.ClosePolicyViolation},
		{httpapi.ErrPermissionDenied, httpapi.ClosePolicyViolation},
		{httpapi.ErrRateLimited, httpapi.CloseTryAgainLater},
		{driver.ErrStorage, httpapi.CloseInternalError},
		{errors.New("a bug"), httpapi.CloseInternalError},
	} {
		if got := httpapi.CloseCodeOf(c.err); got != c.want {
			t.Errorf("CloseCodeOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	for _, c := range errorTable {
		if code := httpapi.CloseCodeOf(c.err); code < 1000 || code > 1014 {
			t.Errorf("CloseCodeOf(%v) = %d: not a close code", c.err, code)
		}
	}
}
