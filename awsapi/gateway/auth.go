package gateway

import (
	"context"
	"net/http"

	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/sigv4"
)

// authenticate verifies the SigV4 signature of a call and returns the
// request context carrying its caller.
func (g *Gateway) authenticate(r *http.Request, c *awsapi.Call) (context.Context, error) {
	akid, err := sigv4.Verify(r, c.Raw, g.cfg.Region, g.cfg.Credentials.Secret)
	if err != nil {
		return nil, err
	}
	return g.cfg.Credentials.Caller(r.Context(), akid)
}
