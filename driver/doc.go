// Package driver defines what a courier backend implements: one small
// interface per messaging pattern, the values that cross it, the sentinel
// errors every backend returns, and a registry of URL schemes.
//
// Users do not call this package; they use the root package courier, which
// validates input once and then calls a driver, the way database/sql sits over
// database/sql/driver. A backend registers an OpenFunc for its URL scheme
// (mem, file, http, nats, ...) with Register, declares what it can do in
// Capabilities, and implements the pattern interfaces it supports (Queues, Topics,
// Streams).
// The conformance package holds the test suite that every driver must pass.
package driver
