// Package paymentspb is the payment fleet's gRPC API, generated from
// payments.proto by protoc with protoc-gen-go and protoc-gen-go-grpc (make
// proto, or go generate ./bench/fleet/paymentspb/). Package fleet serves
// it and transcodes it to and from its HTTP/JSON API.
package paymentspb

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative payments.proto
