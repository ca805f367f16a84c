package trailhttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trailkit/trail/internal/clientip"
	"github.com/trailkit/trail/internal/ids"
	"github.com/trailkit/trail/internal/jsontext"

	"github.com/trailkit/trail"
)

// ErrRejected is returned by the wrapped writer's Write, ReadFrom,
// FlushError and Hijack after a fail-closed middleware answered 503 because
// the recorder rejected the request's event.
var ErrRejected = errors.New("trailhttp: audit event rejected; response replaced by 503 Service Unavailable")

// Middleware returns a function that wraps a handler with Handler.
func Middleware(rec *trail.Recorder, opts Options) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return Handler(rec, next, opts) }
}

// Handler returns a handler that serves every request with next and records
// one event for it on rec. A nil next serves 404 Not Found. A nil rec records
// nothing: requests pass through, or, with FailClosed, are answered 503.
func Handler(rec *trail.Recorder, next http.Handler, opts Options) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	h := &handler{rec: rec, next: next, opts: opts,
		source:    opts.EventSource,
		eventName: opts.EventName,
		readOnly:  opts.ReadOnly,
		errorCode: opts.ErrorCode,
		redact:    opts.Redact,
		maxBody:   opts.MaxBodyBytes,
	}
	if h.source == "" {
		h.source = DefaultEventSource
	}
	if h.readOnly == nil {
		h.readOnly = DefaultReadOnly
	}
	if h.errorCode == nil {
		h.errorCode = DefaultErrorCode
	}
	if h.redact == nil {
		h.redact = DefaultRedact
	}
	switch {
	case h.maxBody == 0:
		h.maxBody = DefaultMaxBodyBytes
	case h.maxBody > maxParams:
		h.maxBody = maxParams
	}
	switch opts.AuditIDHeader {
	case "":
		h.auditHeader = DefaultAuditIDHeader
	case "-":
	default:
		h.auditHeader = textproto.CanonicalMIMEHeaderKey(opts.AuditIDHeader)
	}
	if opts.RequestIDHeader != "" {
		h.requestIDHeader = textproto.CanonicalMIMEHeaderKey(opts.RequestIDHeader)
	}
	ra := opts.RetryAfter
	if ra <= 0 {
		ra = DefaultRetryAfter
	}
	secs := math.Ceil(ra.Seconds())
	if secs > 1<<31 {
		secs = 1 << 31
	}
	h.retryAfter = []string{itoa(int(secs))}
	return h
}

type handler struct {
	rec             *trail.Recorder
	next            http.Handler
	opts            Options
	source          string
	eventName       func(*http.Request) string
	readOnly        func(*http.Request) bool
	errorCode       func(int) (string, string)
	redact          func(string) bool
	maxBody         int64
	auditHeader     string // canonical; "" sends none
	requestIDHeader string // canonical; "" generates IDs
	retryAfter      []string
}

// state is one request's event and wrapped writer. States are pooled.
type state struct {
	ids ids.Source
	h   *handler
	ev  trail.Event
	tls trail.TLSDetails
	rw  responseWriter
	req *http.Request // the request passed to the handler

	body    []byte // captured JSON body
	omitted string // why the body was not captured

	readOnly bool // what ev.ReadOnly points to

	returned bool // the handler returned normally
	recorded bool // Record was called
	rejected bool // fail-closed: the recorder refused; 503 sent
}

var states = sync.Pool{New: func() any { return &state{ids: ids.NewSource()} }}

func (st *state) release() {
	*st = state{ids: st.ids}
	states.Put(st)
}

// recordCtx is the context of Record: the event must be recorded even when
// the client has gone away, so the request's context is not used.
var recordCtx = context.Background()

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.rec == nil {
		if h.opts.FailClosed {
			h.reject(w)
			return
		}
		h.next.ServeHTTP(w, r)
		return
	}
	if h.opts.Skip != nil && h.opts.Skip(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	st := states.Get().(*state)
	st.h = h
	ev := &st.ev
	var reqID string
	if h.requestIDHeader != "" {
		reqID = jsontext.Truncate(first(r.Header[h.requestIDHeader]), maxText)
	}
	var genID string
	ev.EventID, genID = st.ids.NewIDs(reqID == "")
	if reqID == "" {
		reqID = genID
	}
	ev.RequestID = reqID
	ev.EventSource = h.source
	st.readOnly = h.readOnly(r)
	ev.ReadOnly = &st.readOnly // trail.Bool allocates; Record copies the value
	if len(h.opts.TrustedProxies) == 0 {
		ev.SourceIPAddress = jsontext.Truncate(clientip.HostOnly(r.RemoteAddr), maxName)
	} else {
		ev.SourceIPAddress = jsontext.Truncate(clientip.ClientIP(r.RemoteAddr, r.Header["X-Forwarded-For"], h.opts.TrustedProxies), maxName)
	}
	ev.UserAgent = jsontext.Truncate(first(r.Header["User-Agent"]), maxText)
	if r.TLS != nil {
		st.tls = trail.TLSDetails{
			TLSVersion:               tlsVersion(r.TLS.Version),
			CipherSuite:              tls.CipherSuiteName(r.TLS.CipherSuite),
			ClientProvidedHostHeader: jsontext.Truncate(clientip.HostOnly(r.Host), maxName),
		}
		ev.TLSDetails = &st.tls
	}
	if h.opts.Identity != nil {
		ev.UserIdentity = h.opts.Identity(r)
	}
	if ev.UserIdentity.IsZero() {
		if id, ok := trail.IdentityFrom(r.Context()); ok {
			ev.UserIdentity = id // set by an authentication middleware outside this one
		}
	}
	if h.auditHeader != "" {
		w.Header()[h.auditHeader] = []string{ev.EventID}
	}
	req := r
	if h.opts.CaptureParameters {
		var replay io.ReadCloser
		st.body, st.omitted, replay = readBody(r, h.maxBody)
		if replay != nil {
			req = new(http.Request)
			*req = *r
			req.Body = replay
		}
	}
	st.req = req
	st.rw = responseWriter{w: w, st: st}
	defer h.done(st)
	h.next.ServeHTTP(&st.rw, req)
	st.returned = true
}

// done runs deferred after the handler: it records the event (if that did
// not happen when the response was committed) and re-raises a panic.
func (h *handler) done(st *state) {
	if !st.returned {
		if v := recover(); v != nil {
			if !st.recorded {
				ev := &st.ev
				if ev.ErrorCode == "" {
					ev.ErrorCode, _ = h.errorCode(http.StatusInternalServerError)
					ev.ErrorMessage = jsontext.Truncate("panic: "+fmt.Sprint(v), maxText)
				}
				h.record(st, http.StatusInternalServerError)
			}
			st.release()
			panic(v)
		}
		// runtime.Goexit: record what the handler did.
	}
	if !st.recorded {
		rw := &st.rw
		if h.opts.FailClosed {
			// The handler returned without committing the response.
			if !rw.wroteHeader {
				rw.status, rw.wroteHeader = http.StatusOK, true
			}
			rw.commit()
		} else {
			h.record(st, rw.finalStatus())
		}
	}
	st.release()
}

// record finalizes the event for status and records it; it reports whether
// the recorder accepted it.
func (h *handler) record(st *state, status int) bool {
	st.recorded = true
	ev := &st.ev
	if ev.EventName == "" {
		if h.eventName != nil {
			ev.EventName = h.eventName(st.req)
		}
		if ev.EventName == "" {
			ev.EventName = DefaultEventName(st.req)
		}
	}
	if status >= 400 && ev.ErrorCode == "" {
		code, msg := h.errorCode(status)
		ev.ErrorCode = code
		if ev.ErrorMessage == "" {
			ev.ErrorMessage = msg
		}
	}
	if h.opts.Resources != nil && ev.Resources == nil {
		ev.Resources = h.opts.Resources(st.req)
	}
	if h.opts.CaptureParameters && ev.RequestParameters == nil {
		ev.RequestParameters = buildParams(st.req, st.body, st.omitted, h.opts.CaptureHeaders, h.redact)
	}
	var err error
	if h.opts.WaitDelivered != nil && h.opts.WaitDelivered(st.req) {
		timeout := h.opts.DeliveryTimeout
		if timeout <= 0 {
			timeout = DefaultDeliveryTimeout
		}
		ctx, cancel := context.WithTimeout(recordCtx, timeout)
		_, err = h.rec.RecordAndWait(ctx, ev)
		cancel()
	} else {
		err = h.rec.Record(recordCtx, ev)
	}
	if err != nil {
		if h.opts.OnError != nil {
			h.opts.OnError(st.req, err)
		}
		return false
	}
	return true
}

// reject answers 503 Service Unavailable with Retry-After. Every header the
// handler (or the middleware) set is dropped: the response must not carry
// cookies, locations or the audit ID of an unrecorded request.
func (h *handler) reject(w http.ResponseWriter) {
	hd := w.Header()
	clear(hd)
	hd["Retry-After"] = h.retryAfter
	hd["Content-Type"] = []string{"text/plain; charset=utf-8"}
	hd["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, "audit log unavailable; retry later\n")
}

// DefaultEventName is the method and the route pattern that an
// http.ServeMux matched for r ("GET /orders/{id}"; a host in the pattern is
// left out). A request no pattern matched — a ServeMux's 404 or 405, or a
// handler that is not a ServeMux — is named after its method alone,
// "GET (unmatched)" (see UnmatchedRoute), so that clients cannot make one
// event name per URL; name such requests with Options.EventName or
// Event(w).EventName. A method that is not one of net/http's nine is named
// "OTHER" unless the matched pattern spells it out.
func DefaultEventName(r *http.Request) string {
	if p := r.Pattern; p != "" {
		if m := r.Method; len(p) > len(m)+1 && p[len(m)] == ' ' && p[len(m)+1] == '/' && p[:len(m)] == m {
			return p // "GET /orders/{id}" as registered
		}
		method, host, path := splitPattern(p)
		if method == r.Method && host == "" && len(p) == len(method)+1+len(path) {
			return p // "GET /orders/{id}" as registered
		}
		return names.get(methodName(r.Method), p, path)
	}
	return unmatchedName(r.Method)
}

// UnmatchedRoute stands for the route in DefaultEventName's name of a
// request that no ServeMux pattern matched: "GET (unmatched)".
const UnmatchedRoute = "(unmatched)"

// methodName bounds the methods that appear in default event names.
func methodName(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// unmatchedName is method+" "+UnmatchedRoute without an allocation.
func unmatchedName(m string) string {
	switch m {
	case http.MethodGet:
		return "GET " + UnmatchedRoute
	case http.MethodHead:
		return "HEAD " + UnmatchedRoute
	case http.MethodPost:
		return "POST " + UnmatchedRoute
	case http.MethodPut:
		return "PUT " + UnmatchedRoute
	case http.MethodPatch:
		return "PATCH " + UnmatchedRoute
	case http.MethodDelete:
		return "DELETE " + UnmatchedRoute
	case http.MethodConnect:
		return "CONNECT " + UnmatchedRoute
	case http.MethodOptions:
		return "OPTIONS " + UnmatchedRoute
	case http.MethodTrace:
		return "TRACE " + UnmatchedRoute
	}
	return "OTHER " + UnmatchedRoute
}

// splitPattern splits a ServeMux pattern "[METHOD ][HOST]/[PATH]".
func splitPattern(p string) (method, host, path string) {
	for i := 0; i < len(p); i++ {
		if p[i] == ' ' || p[i] == '\t' {
			method, p = p[:i], strings.TrimLeft(p[i+1:], " \t")
			break
		}
		if p[i] == '/' {
			break
		}
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return method, p[:i], p[i:]
	}
	return method, p, "/"
}

// nameCache interns event names built from (method, pattern) so that a
// request whose pattern does not start with its method costs no allocation.
// Reads are lock-free; the map is copied on write and bounded.
type nameCache struct {
	mu sync.Mutex
	m  atomic.Pointer[map[nameKey]string]
}

type nameKey struct{ method, pattern string }

const maxCachedNames = 4096

var names nameCache

func (c *nameCache) get(method, pattern, path string) string {
	k := nameKey{method, pattern}
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			return s
		}
	}
	s := method + " " + path
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	n := 0
	if old != nil {
		n = len(*old)
	}
	if n >= maxCachedNames {
		return s
	}
	m := make(map[nameKey]string, n+1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[k] = s
	c.m.Store(&m)
	return s
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// Event returns the event being built for the request that w answers, or
// nil if w is not (and does not wrap) a writer of this middleware. A handler
// may read and change it while it runs — name the action, add resources,
// responseElements or an error — and the middleware keeps what the handler
// set. The event must not be used after the handler returns. With
// FailClosed, changes made after the response is committed are not recorded.
func Event(w http.ResponseWriter) *trail.Event {
	if rw := find(w); rw != nil && rw.st != nil {
		return &rw.st.ev
	}
	return nil
}

// EventID returns the eventID of the request that w answers, or "" if w is
// not (and does not wrap) a writer of this middleware.
func EventID(w http.ResponseWriter) string {
	if ev := Event(w); ev != nil {
		return ev.EventID
	}
	return ""
}

func find(w http.ResponseWriter) *responseWriter {
	for range 64 {
		switch x := w.(type) {
		case *responseWriter:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
