package engine

import (
	"context"
	"net/url"

	"github.com/courier-io/courier/driver"
)

func openFile(ctx context.Context, u *url.URL, opts driver.Options) (driver.Conn, error) {
	return nil, driver.ErrUnsupported
}
