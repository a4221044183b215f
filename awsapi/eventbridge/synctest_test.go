package eventbridge_test

import (
	"testing"
	"testing/synctest"
)

// synctestRun runs f in a synctest bubble: time is fake and advances when
// every goroutine of the bubble waits.
func synctestRun(t *testing.T, f func(t *testing.T)) { synctest.Test(t, f) }
