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

	// CaptureHeaders names request headers that CaptureParameters records
	// under "headers" (a string, or an array for a repeated header), their
	// values redacted as the rest. Default none.
	CaptureHeaders []string

	// Redact reports whether the value under a query parameter name, path
	// wildcard, captured header name or JSON object key (at any depth) is a
	// secret. Secrets are recorded as HIDDEN_DUE_TO_SECURITY_REASONS.
	// Default DefaultRedact.
	Redact func(key string) bool

	// FailClosed answers 503 Service Unavailable, with a Retry-After header,
	// instead of the handler's response when the recorder rejects the event.
	// See the package documentation for when the event is recorded. Default
	// false (fail-open): a rejected event does not change the response.
	FailClosed bool

	// WaitDelivered reports whether a request's event must be stored by
	// every sink (Recorder.RecordAndWait) before its response goes out,
	// rather than only accepted by the recorder (durable, with a spool). It
	// is called after the handler, so Request.Pattern names the route: a
	// service makes its most sensitive routes wait. With FailClosed, a
	// delivery that fails or takes longer than DeliveryTimeout answers 503;
	// without it the response goes out anyway and the error reaches
	// OnError. Default: no request waits.
	WaitDelivered func(r *http.Request) bool

	// DeliveryTimeout bounds WaitDelivered's wait (default
	// DefaultDeliveryTimeout).
	DeliveryTimeout time.Duration

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
	// DefaultDeliveryTimeout is the default bound of a WaitDelivered wait.
	DefaultDeliveryTimeout = 10 * time.Second
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

// DefaultRedact reports whether key names a secret. Case is ignored. A key
// is a secret when it contains one of the words of [SecretWords] (password,
// secret, token, session, authorization, cookie, signature, credential,
// card_number, access_key, api_key, client_secret, …), or when one of its
// parts (split at '_', '-', '.', other punctuation and camelCase humps: "userPin" is
// "user" and "pin") is one of [SecretParts] (pwd, pass, pin, otp, ssn, cvv,
// jwt, auth, sig, …). Short words are matched as whole parts so that
// "shipping", "design" or "author" are not redacted.
func DefaultRedact(key string) bool {
	for _, w := range secretWords {
		if containsFold(key, w) {
			return true
		}
	}
	for i := 0; i < len(key); {
		j := partEnd(key, i)
		if j > i && isSecretPart(key[i:j]) {
			return true
		}
		i = max(j, i+1)
	}
	return false
}

// SecretWords returns the words DefaultRedact looks for anywhere in a key
// (lower case; matched ignoring case).
func SecretWords() []string { return append([]string(nil), secretWords[:]...) }

// SecretParts returns the words DefaultRedact matches as a whole part of a
// key (lower case; matched ignoring case).
func SecretParts() []string { return append([]string(nil), secretParts[:]...) }

var secretWords = [...]string{
	"password", "passwd", "passcode", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
	"authorization", "credential", "private_key", "privatekey", "private-key", "cookie", "signature",
	"session", "access_key", "accesskey", "access-key", "card_number", "cardnumber", "card-number",
	"client_secret", "security_code", "securitycode",
}

var secretParts = [...]string{
	"pwd", "pw", "pass", "pin", "otp", "totp", "hotp", "mfa", "ssn", "cvv", "cvv2", "cvc", "jwt", "auth", "sig",
	"pan", "iban", "bearer", "sid",
}

// partEnd returns the end of the part of key that starts at i: a run of
// letters and digits, ended before an upper-case letter that follows a
// lower-case one (camelCase) or before an upper-case letter that starts a
// new word after a run of capitals ("JWTToken": "JWT", "Token").
func partEnd(key string, i int) int {
	j := i
	for j < len(key) && isAlnum(key[j]) {
		if j > i {
			prev, c := key[j-1], key[j]
			if isUpper(c) && !isUpper(prev) {
				break
			}
			if isUpper(prev) && !isUpper(c) && j-1 > i && !isDigit(c) {
				return j - 1
			}
		}
		j++
	}
	return j
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isUpper(c) || 'a' <= c && c <= 'z' || isDigit(c) }

func isSecretPart(p string) bool {
	for _, w := range secretParts {
		if len(p) == len(w) && containsFold(p, w) {
			return true
		}
	}
	return false
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
