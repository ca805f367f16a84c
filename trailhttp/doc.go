// Package trailhttp records one CloudTrail event for every request a
// net/http handler serves.
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /orders", createOrder)
//	mux.HandleFunc("GET /orders/{id}", getOrder)
//	h := trailhttp.Handler(rec, mux, trailhttp.Options{
//		EventSource: "orders.example.com",
//		Identity:    identityFromToken,
//	})
//	http.ListenAndServe(addr, h)
//
// # The event
//
// The middleware fills the event from the request:
//
//   - eventID: a fresh lower-case UUIDv4, made before the handler runs and
//     sent to the client in the X-Audit-Id response header (Options.AuditIDHeader).
//   - eventSource: Options.EventSource.
//   - eventName: Options.EventName, by default the method and the route
//     pattern the http.ServeMux matched ("GET /orders/{id}", from
//     Request.Pattern), or "GET (unmatched)" when no pattern matched (one
//     name per method, never one per URL).
//   - readOnly: true for GET, HEAD and OPTIONS (Options.ReadOnly).
//   - sourceIPAddress: the host of Request.RemoteAddr; the X-Forwarded-For
//     header is believed only when RemoteAddr is one of Options.TrustedProxies.
//   - userAgent: the User-Agent header, cut at 1 KB.
//   - requestID: the header named by Options.RequestIDHeader, or a fresh UUID.
//   - userIdentity: Options.Identity, else the identity trail.WithIdentity
//     put in the request's context (an authentication middleware in front of
//     this one); resources: Options.Resources.
//   - errorCode and errorMessage: from a status of 400 or more
//     (Options.ErrorCode, by default CloudTrail-style codes: 403
//     AccessDenied, 404 ResourceNotFoundException, 429 ThrottlingException,
//     500 InternalFailure; the table is at DefaultErrorCode), or from a
//     panic, which is recorded and then re-raised.
//   - requestParameters: only with Options.CaptureParameters: the route's
//     path wildcards, the query and a JSON body (read through
//     http.MaxBytesReader up to Options.MaxBodyBytes and handed to the
//     handler intact), with secrets replaced by HIDDEN_DUE_TO_SECURITY_REASONS
//     (Options.Redact).
//   - tlsDetails: the TLS version, cipher suite and Host of TLS requests.
//
// A handler can read and change the event while it runs with Event(w), for
// example to name the action (EventName "CreateOrder") or to add resources and
// responseElements. Fields the handler set are not overwritten.
//
// # Fail-open and fail-closed
//
// By default (fail-open) the event is recorded after the handler returns, and
// a recorder error (closed, overloaded under trail.Reject, an invalid event)
// does not change the response; it goes to Options.OnError and the recorder's
// Stats.
//
// With Options.FailClosed no response leaves unaudited: the event is recorded
// when the response is committed — on the handler's first WriteHeader (other
// than 1xx), Write, Flush, ReadFrom or Hijack, or when it returns without
// writing — because that is the last moment the status is known and can still
// be changed. If the recorder rejects the event, the client gets 503 Service
// Unavailable with a Retry-After header instead of the handler's response, and
// the handler's later writes fail with ErrRejected. The handler's side effects
// have happened by then: fail-closed guarantees that no client sees a response
// whose event was not accepted, not that nothing happens unaudited. Use it
// with a recorder whose Overflow is trail.Reject, so that a full queue is
// answered at once rather than waited for. Changes a handler makes with Event
// after the response is committed are not recorded in this mode.
//
// "Accepted" means Record returned nil: in memory, or on disk with a
// trail.Spool. Routes for which that is not enough name themselves in
// Options.WaitDelivered: their event must be stored by every sink
// (trail.Recorder.RecordAndWait, bounded by Options.DeliveryTimeout) before
// the response goes out, and a delivery that fails answers 503.
//
// # The response writer
//
// The handler gets a wrapped http.ResponseWriter. It implements Unwrap, so
// http.ResponseController reaches the server's writer (deadlines, full
// duplex), and it implements http.Flusher, http.Hijacker and io.ReaderFrom
// itself, so that flushing, hijacking and sendfile keep working and still
// count as committing the response. Wrapped writers are pooled: like every
// http.ResponseWriter, it must not be used after the handler returns.
//
// # Cost
//
// Over a bare http.ServeMux, the middleware adds two allocations per request
// (the event and request IDs, made in one, and the header's value) and about
// 0.6 µs on a loaded 2-core machine, of which about 0.17 µs is
// Recorder.Record's own validation and stamping; see BenchmarkOverhead. The
// per-request state and wrapped writer are pooled, IDs come from a ChaCha8
// generator seeded from crypto/rand (no system call per request), and the
// default event name of a matched pattern costs no allocation.
package trailhttp
