package httpapi_test

import (
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// TestGRPCErrorOf checks the gRPC column of the error table: every row
// has a code other than Internal, GRPCErrorOf answers the same error object
// as ErrorOf, and GRPCCode finds the row by its REST code.
func TestGRPCErrorOf(t *testing.T) {
	type row struct {
		err  error
		code string
	}
	rows := []row{
		{httpapi.ErrUnauthenticated, "unauthenticated"},
		{httpapi.ErrPermissionDenied, "permission_denied"},
		{httpapi.ErrRateLimited, "rate_limited"},
	}
	for _, c := range errorTable {
		rows = append(rows, row{c.err, c.code})
	}
	for _, c := range rows {
		err := fmt.Errorf("queue %q: send: %w", "orders", c.err)
		code, e := httpapi.GRPCErrorOf(err)
		_, want := httpapi.ErrorOf(err)
		if e != want {
			t.Errorf("%v: GRPCErrorOf error object %+v, ErrorOf %+v", c.err, e, want)
		}
		if code == connect.CodeInternal || code == 0 {
			t.Errorf("%v: gRPC code %v", c.err, code)
		}
		if got := httpapi.GRPCCode(c.code); got != code {
			t.Errorf("GRPCCode(%q) = %v, want %v", c.code, got, code)
		}
	}
	if code, e := httpapi.GRPCErrorOf(errors.New("boom")); code != connect.CodeInternal || e.Code != "internal" {
		t.Errorf("unknown error: %v %+v, want Internal", code, e)
	}
	if got := httpapi.GRPCCode("no_such_code"); got != connect.CodeInternal {
		t.Errorf("GRPCCode of an unknown code = %v, want Internal", got)
	}
	// A validation error keeps its field.
	code, e := httpapi.GRPCErrorOf(driver.Invalid("messages[2].group", "too long"))
	if code != connect.CodeInvalidArgument || e.Field != "messages[2].group" {
		t.Errorf("validation error: %v %+v", code, e)
	}
}
