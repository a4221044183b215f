// Package pbconv converts between the protobuf messages of courier.v1
// (internal/gen/courier/v1) and the types of package driver, in both
// directions: the gRPC services of package server decode requests and
// encode answers with it, and the Go client (package client) encodes
// requests and decodes answers with the same functions, so the two ends
// of the wire agree by construction.
//
// Conversions from requests check only what the protobuf encoding leaves
// open (a malformed duration, an unknown enum value), naming the field;
// every other rule lives in the courier API and the driver validation.
package pbconv
