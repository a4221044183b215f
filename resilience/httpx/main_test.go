package httpx_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// advance moves a synctest bubble's fake clock forward by d.
func advance(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}
