package trailhttp

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/trailkit/trail"
)

// Options configure the middleware. The zero value of every field is a
// documented default; no combination of values makes the middleware panic.
type Options struct {
	// EventSource is the eventSource of every event, conventionally the
	// service's host name such as "orders.example.com". Default
	// DefaultEventSource; set it.
	EventSource string

	// EventName names the action of a request. It is called after the
	// handler, so Request.Pattern is set when an http.ServeMux inside the
	// middleware routed the request. Default DefaultEventName: the method
	// and the matched route pattern ("GET /orders/{id}"), or
	// "GET (unmatched)" when no pattern matched. A name the handler set with
	// Event(w) takes precedence.
	EventName func(r *http.Request) string

	// ReadOnly reports whether a request only reads. Default: true for GET,
	// HEAD and OPTIONS.
	ReadOnly func(r *http.Request) bool

	// Identity returns who made the request. It is called before the
	// handler, with the request the middleware received. Default, and when
	// it returns an empty identity: the identity trail.WithIdentity stored
	// in the request's context (by an authentication middleware that runs
	// before this one), else an empty userIdentity. A handler behind the
	// middleware sets it with Event(w).UserIdentity.
	Identity func(r *http.Request) trail.UserIdentity

	// Resources returns the resources a request touched. It is called after
	// the handler (path wildcards are then available through
	// Request.PathValue), unless the handler set Event(w).Resources. Default:
	// none.
	Resources func(r *http.Request) []trail.Resource

	// ErrorCode turns a response status of 400 or more into the event's
	// errorCode and errorMessage. Default DefaultErrorCode. A code the
	// handler set with Event(w) takes precedence.
	ErrorCode func(status int) (code, message string)

	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For header is believed. When RemoteAddr is in one of them,
	// the header's addresses are walked from the right, past every trusted
	// proxy, and the first untrusted address is the sourceIPAddress. Default:
	// none — X-Forwarded-For is ignored and sourceIPAddress is RemoteAddr's
	// host.
	TrustedProxies []netip.Prefix

	// RequestIDHeader names a request header (such as "X-Request-Id") whose
	// value becomes the event's requestID. Default "": every request gets a
	// fresh UUID, as does a request without the header.
	RequestIDHeader string

	// AuditIDHeader names the response header that carries the eventID.
	// Default DefaultAuditIDHeader ("X-Audit-Id"); "-" sends no header.
	AuditIDHeader string

	// CaptureParameters records requestParameters: {"path":{…},"query":{…},
	// "body":…} with the route's path wildcards, the query parameters (a
	// string, or an array of strings for a repeated name) and a JSON request
	// body. Default false: requestParameters is null.
	CaptureParameters bool

	// MaxBodyBytes caps the JSON request body that CaptureParameters records
	// (default DefaultMaxBodyBytes, at most 100 KB; negative: record no
	// body). A larger body is passed to the handler intact and recorded as
	// "bodyOmitted":"TooLarge". Only bodies whose Content-Type is
	// application/json or ends in +json are read.
	MaxBodyBytes int64

	// Redact reports whether the value under a query parameter name, path
	// wildcard or JSON object key (at any depth) is a secret. Secrets are
	// recorded as HIDDEN_DUE_TO_SECURITY_REASONS. Default DefaultRedact.
	Redact func(key string) bool

	// FailClosed answers 503 Service Unavailable, with a Retry-After header,
	// instead of the handler's response when the recorder rejects the event.
	// See the package documentation for when the event is recorded. Default
	// false (fail-open): a rejected event does not change the response.
	FailClosed bool

	// RetryAfter is the delay a fail-closed 503 asks clients to wait,
	// rounded up to whole seconds. Default 5 seconds.
	RetryAfter time.Duration

	// Skip reports whether a request is not audited at all (health checks,
	// metrics). Default: every request is audited.
	Skip func(r *http.Request) bool

	// OnError receives every error Recorder.Record returned for a request.
	// It runs on the request's goroutine. Default: errors are only counted
	// in the recorder's Stats.
	OnError func(r *http.Request, err error)
}

// Defaults of Options.
const (
	// DefaultEventSource is the eventSource when Options.EventSource is empty.
	DefaultEventSource = "localhost"
	// DefaultAuditIDHeader is the response header that carries the eventID.
	DefaultAuditIDHeader = "X-Audit-Id"
	// DefaultMaxBodyBytes is the default cap of a recorded JSON body.
	DefaultMaxBodyBytes = 16 << 10
	// DefaultRetryAfter is the default delay of a fail-closed 503.
	DefaultRetryAfter = 5 * time.Second
	// Hidden replaces redacted values, as CloudTrail does.
	Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

	// maxParams is the largest requestParameters CloudTrail keeps (100 KB).
	maxParams = 100 << 10
	// maxText is the cap of userAgent and requestID (1 KB).
	maxText = 1 << 10
	// maxName is the cap of eventName and sourceIPAddress.
	maxName = 1 << 10
)

// DefaultReadOnly reports whether r's method is GET, HEAD or OPTIONS.
func DefaultReadOnly(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// DefaultRedact reports whether key names a secret: it contains, ignoring
// case, one of password, passwd, secret, token, apikey, api_key, api-key,
// authorization, credential, private_key, privatekey, cookie or signature.
func DefaultRedact(key string) bool {
	for _, w := range secretWords {
		if containsFold(key, w) {
			return true
		}
	}
	return false
}

var secretWords = [...]string{
	"password", "passwd", "secret", "token", "apikey", "api_key", "api-key",
	"authorization", "credential", "private_key", "privatekey", "cookie", "signature",
}

// containsFold reports whether s contains the lower-case ASCII word w,
// ignoring ASCII case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for ; j < len(w); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[j] {
				break
			}
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
