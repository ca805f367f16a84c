package cwlogsink

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/trailkit/trail/internal/awserr"
)

// permanentCodes are CloudWatch Logs error codes that no retry can fix.
var permanentCodes = map[string]bool{
	"AccessDeniedException":          true,
	"UnrecognizedClientException":    true,
	"InvalidClientTokenId":           true,
	"IncompleteSignature":            true,
	"InvalidSignatureException":      true,
	"MissingAuthenticationToken":     true,
	"InvalidParameterException":      true,
	"ValidationException":            true,
	"InvalidOperationException":      true,
	"ResourceNotFoundException":      true,
	"UnknownOperationException":      true,
	"SerializationException":         true,
	"ServiceQuotaExceededException":  false, // may clear when quota rises
	"ThrottlingException":            false,
	"LimitExceededException":         false,
	"ServiceUnavailableException":    false,
	"InternalServerException":        false,
	"OperationAbortedException":      false,
	"InvalidSequenceTokenException":  false,
	"ExpiredTokenException":          false, // credentials refresh
	"RequestExpired":                 false,
	"KmsInvalidStateException":       true,
	"DataAlreadyAcceptedException":   false,
	"ResourceAlreadyExistsException": false,
	"ConflictException":              false,
}

// classify wraps err with trail.ErrPermanent when CloudWatch Logs reports a
// condition that retrying cannot fix (IsPermanent); throttling, 5xx
// answers, timeouts and network errors are returned unchanged so that the
// recorder retries them. The SDK error stays reachable with errors.As.
func classify(err error) error { return awserr.Classify(err, IsPermanent) }

// IsPermanent reports whether err is a CloudWatch Logs error that retrying
// cannot fix (AccessDeniedException, UnrecognizedClientException,
// InvalidParameterException, ResourceNotFoundException, ...).
func IsPermanent(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return permanentCodes[ae.ErrorCode()]
	}
	return false
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return err != nil && errors.As(err, &ae) && ae.ErrorCode() == code
}
