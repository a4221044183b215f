package resilience_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/courier-io/courier/driver"
)

// errInvalid is courier.ErrInvalid, which validation errors match.
var errInvalid = driver.ErrInvalid

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// advance moves a synctest bubble's fake clock forward by d. Outside a
// bubble it would really wait, so only bubbles call it.
func advance(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}
