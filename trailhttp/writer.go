package trailhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter is the http.ResponseWriter the handler gets. It notes the
// status and, for a fail-closed middleware, records the event when the
// response is committed.
type responseWriter struct {
	w           http.ResponseWriter
	st          *state
	status      int
	wroteHeader bool
	hijacked    bool
}

// Unwrap returns the writer the middleware was given, for
// http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// Header returns the header map of the underlying writer.
func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader sends the status. 1xx statuses other than 101 are
// informational and passed through.
func (rw *responseWriter) WriteHeader(code int) {
	if rw.st.rejected || rw.hijacked {
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code)
		return
	}
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = code, true
		if !rw.commit() {
			return
		}
	}
	rw.w.WriteHeader(code)
}

// Write writes the body, committing the response with 200 OK first if no
// status was written.
func (rw *responseWriter) Write(p []byte) (int, error) {
	if !rw.implicitCommit() {
		return 0, ErrRejected
	}
	return rw.w.Write(p)
}

// ReadFrom copies src into the response, using the underlying writer's
// io.ReaderFrom (sendfile) when it has one.
func (rw *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !rw.implicitCommit() {
		return 0, ErrRejected
	}
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{rw.w}, src)
}

type writerOnly struct{ io.Writer }

// Flush flushes buffered data to the client (http.Flusher). It does nothing
// if the underlying writer cannot flush.
func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// FlushError flushes buffered data to the client; http.ResponseController
// calls it. It returns an error wrapping http.ErrNotSupported if the
// underlying writer cannot flush.
func (rw *responseWriter) FlushError() error {
	if !rw.implicitCommit() {
		return ErrRejected
	}
	return http.NewResponseController(rw.w).Flush()
}

// Hijack lets the handler take over the connection (http.Hijacker); the
// event is recorded without an HTTP status. It returns an error wrapping
// http.ErrNotSupported if the underlying writer cannot hijack.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if rw.st.rejected {
		return nil, nil, ErrRejected
	}
	if !rw.wroteHeader && rw.st.h.opts.FailClosed && !rw.st.recorded {
		rw.status = http.StatusSwitchingProtocols
		if !rw.commit() {
			return nil, nil, ErrRejected
		}
	}
	c, brw, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.hijacked, rw.wroteHeader = true, true
	}
	return c, brw, err
}

// implicitCommit commits a response that is written to before a status:
// net/http sends 200 OK then.
func (rw *responseWriter) implicitCommit() bool {
	if rw.st.rejected {
		return false
	}
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = http.StatusOK, true
		return rw.commit()
	}
	return true
}

// commit records the event of a fail-closed middleware now that the status
// is known, and answers 503 instead if the recorder rejects it. It reports
// whether the handler's response may proceed.
func (rw *responseWriter) commit() bool {
	st := rw.st
	if !st.h.opts.FailClosed || st.recorded {
		return !st.rejected
	}
	if st.h.record(st, rw.status) {
		return true
	}
	st.rejected = true
	st.h.reject(rw.w)
	return false
}

// finalStatus is the status the client got: 200 if the handler wrote
// nothing, none (0) for a hijacked connection.
func (rw *responseWriter) finalStatus() int {
	switch {
	case rw.hijacked:
		return 0
	case !rw.wroteHeader:
		return http.StatusOK
	}
	return rw.status
}
