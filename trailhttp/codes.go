package trailhttp

import (
	"net/http"
	"sync"
)

// errorCodes is DefaultErrorCode's table: the CloudTrail errorCode recorded
// for a response status, named as AWS services name the same failure.
var errorCodes = map[int]string{
	http.StatusBadRequest:                   "ValidationException",
	http.StatusUnauthorized:                 "UnauthorizedException",
	http.StatusForbidden:                    "AccessDenied",
	http.StatusNotFound:                     "ResourceNotFoundException",
	http.StatusMethodNotAllowed:             "MethodNotAllowedException",
	http.StatusNotAcceptable:                "NotAcceptableException",
	http.StatusRequestTimeout:               "RequestTimeoutException",
	http.StatusConflict:                     "ConflictException",
	http.StatusGone:                         "GoneException",
	http.StatusLengthRequired:               "MissingContentLength",
	http.StatusPreconditionFailed:           "PreconditionFailed",
	http.StatusRequestEntityTooLarge:        "RequestEntityTooLargeException",
	http.StatusUnsupportedMediaType:         "UnsupportedMediaTypeException",
	http.StatusRequestedRangeNotSatisfiable: "InvalidRange",
	http.StatusUnprocessableEntity:          "ValidationException",
	http.StatusTooManyRequests:              "ThrottlingException",
	http.StatusInternalServerError:          "InternalFailure",
	http.StatusNotImplemented:               "NotImplemented",
	http.StatusBadGateway:                   "BadGatewayException",
	http.StatusServiceUnavailable:           "ServiceUnavailable",
	http.StatusGatewayTimeout:               "GatewayTimeoutException",
}

// DefaultErrorCode turns a response status into a CloudTrail-style
// errorCode, and http.StatusText as the errorMessage:
//
//	status  errorCode
//	400     ValidationException
//	401     UnauthorizedException
//	403     AccessDenied
//	404     ResourceNotFoundException
//	405     MethodNotAllowedException
//	406     NotAcceptableException
//	408     RequestTimeoutException
//	409     ConflictException
//	410     GoneException
//	411     MissingContentLength
//	412     PreconditionFailed
//	413     RequestEntityTooLargeException
//	415     UnsupportedMediaTypeException
//	416     InvalidRange
//	422     ValidationException
//	429     ThrottlingException
//	500     InternalFailure
//	501     NotImplemented
//	502     BadGatewayException
//	503     ServiceUnavailable
//	504     GatewayTimeoutException
//
// Any other status is named after its http.StatusText without spaces and
// punctuation (402: "PaymentRequired", 418: "ImATeapot"); a status without a
// text gives "HTTP" and the number ("HTTP599", "HTTP status 599"). A handler
// names its own failures with Event(w).ErrorCode, which takes precedence.
func DefaultErrorCode(status int) (code, message string) {
	if c, ok := errorCodes[status]; ok {
		return c, http.StatusText(status)
	}
	if status >= 100 && status < 600 {
		if c := statusCodes()[status-100]; c != "" {
			return c, http.StatusText(status)
		}
	}
	s := itoa(status)
	return "HTTP" + s, "HTTP status " + s
}

// statusCodes holds the http.StatusText-derived names of statuses 100 to
// 599, built on first use.
var statusCodes = sync.OnceValue(func() *[500]string {
	var t [500]string
	for i := range t {
		t[i] = codeName(http.StatusText(i + 100))
	}
	return &t
})
