package fleet

import (
	"io"
	"net/http"
	"strconv"
)

// serveHealthz is liveness: the process answers. A hang fault holds it, as
// a paused process answers no probe.
func (s *Service) serveHealthz(w http.ResponseWriter, r *http.Request) {
	s.probe(w, r, true)
}

// serveReadyz is readiness: serving and not shutting down.
func (s *Service) serveReadyz(w http.ResponseWriter, r *http.Request) {
	s.probe(w, r, false)
}

func (s *Service) probe(w http.ResponseWriter, r *http.Request, liveness bool) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	if err := s.faults.waitHang(ctx); err != nil {
		s.gaveUp(w, err)
		return
	}
	if !liveness && s.ctx.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, "not ready: shutting down")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// serveFaultGet shows the current fault; {} when healthy.
func (s *Service) serveFaultGet(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Fault())
}

// serveFaultPost merges the body into the current fault (see Fault.Patch)
// and answers the result. A crash is answered 202 and flushed before the
// service ends.
func (s *Service) serveFaultPost(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read fault: "+err.Error())
		return
	}
	f, err := s.faults.patch(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Info("fault set", "fault", string(mustJSON(f)))
	if !f.Crash {
		writeJSON(w, http.StatusOK, f)
		return
	}
	body := mustJSON(f)
	w.Header().Set("Connection", "close")
	// A declared length makes the answer complete once flushed: the crash
	// may close the connection before the handler returns, which would cut
	// a chunked answer before its last chunk.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+len(newline)))
	writeRawJSON(w, http.StatusAccepted, body)
	_ = http.NewResponseController(w).Flush()
	s.startCrash()
}

// serveFaultDelete clears every fault but a crash, which cannot be undone.
func (s *Service) serveFaultDelete(w http.ResponseWriter, _ *http.Request) {
	_ = s.faults.set(Fault{}) // the zero fault always builds
	s.log.Info("fault cleared")
	writeJSON(w, http.StatusOK, Fault{})
}
