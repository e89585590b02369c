package lifecycle

// GRPCToHTTP is the HTTP status a gRPC status code stands for when a
// policy judges a gRPC answer, as Envoy's Grpc::Utility::grpcToHttpStatus:
// UNAVAILABLE is a 503, DEADLINE_EXCEEDED a 504, INTERNAL, UNKNOWN and
// DATA_LOSS a 500, UNIMPLEMENTED a 501, RESOURCE_EXHAUSTED a 429, and the
// codes that blame the caller 4xx. OK (and any code outside 0-16) maps to
// 200 and 500 respectively.
func GRPCToHTTP(code int) int {
	switch code {
	case 0: // OK
		return 200
	case 1: // CANCELLED: nginx's client-closed-request
		return 499
	case 2, 13, 15: // UNKNOWN, INTERNAL, DATA_LOSS
		return 500
	case 3, 9, 11: // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
		return 400
	case 4: // DEADLINE_EXCEEDED
		return 504
	case 5: // NOT_FOUND
		return 404
	case 6, 10: // ALREADY_EXISTS, ABORTED
		return 409
	case 7: // PERMISSION_DENIED
		return 403
	case 8: // RESOURCE_EXHAUSTED
		return 429
	case 12: // UNIMPLEMENTED
		return 501
	case 14: // UNAVAILABLE
		return 503
	case 16: // UNAUTHENTICATED
		return 401
	}
	return 500
}
