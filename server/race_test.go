//go:build race

package server_test

// raceEnabled reports a -race build, where reading a 64 MiB body costs
// about a second: TestOversizeBody then covers fewer endpoints.
const raceEnabled = true
