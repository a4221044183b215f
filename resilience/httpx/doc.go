// Package httpx applies resilience policies to net/http: Transport wraps an
// http.RoundTripper (the client side) and Middleware wraps an http.Handler
// (the server side). Both speak the Courier-Deadline header, so a deadline
// set by the first caller shrinks at each hop and every server gives up
// before its caller does.
package httpx
