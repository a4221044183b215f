// Package proto holds the protobuf definition of courier's gRPC API
// (courier/v1/*.proto, package courier.v1), which package server serves
// with connect-go beside the REST API (docs/grpc.md).
//
// The generated Go code is committed in internal/gen/courier/v1 (messages)
// and internal/gen/courier/v1/courierv1connect (handlers and clients), so
// building courier needs no protobuf tools. After changing a .proto file,
// regenerate with
//
//	go generate ./proto/...
//
// which lints the files and runs buf (pinned below) with the protoc-gen-go
// and protoc-gen-connect-go versions of go.mod; it needs only Go and the
// module proxy.
package proto

//go:generate go run github.com/bufbuild/buf/cmd/buf@v1.75.0 lint
//go:generate go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
