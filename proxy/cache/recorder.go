package cache

import (
	"net/http"
)

// recorder passes a response through to the client while keeping a copy of
// its status, headers and up to limit bytes of body; past the limit the
// copy is dropped and overflow set.
type recorder struct {
	http.ResponseWriter
	limit       int64
	status      int
	header      http.Header // snapshot at WriteHeader
	body        []byte
	wroteHeader bool
	overflow    bool
}

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		r.ResponseWriter.WriteHeader(code)
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// Informational responses (103 Early Hints) precede the final one.
		r.ResponseWriter.WriteHeader(code)
		return
	}
	r.wroteHeader = true
	r.status = code
	r.header = r.ResponseWriter.Header().Clone()
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.overflow {
		if int64(len(r.body)+len(p)) > r.limit {
			r.overflow, r.body = true, nil
		} else {
			r.body = append(r.body, p...)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Flush passes a flush through, so streamed responses still stream.
func (r *recorder) Flush() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
