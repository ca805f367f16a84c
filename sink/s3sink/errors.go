package s3sink

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/trailkit/trail/internal/awserr"
)

// permanentCodes are S3 error codes that no retry can fix.
var permanentCodes = map[string]string{
	"AccessDenied":                    "access denied: the writer lacks s3:PutObject on the key (or the bucket policy requires an ACL or encryption it did not send)",
	"AllAccessDisabled":               "all access to the bucket is disabled",
	"AccountProblem":                  "the account has a problem that prevents the operation",
	"InvalidAccessKeyId":              "the access key ID does not exist",
	"SignatureDoesNotMatch":           "the secret key does not match the access key",
	"ExpiredToken":                    "the session credentials have expired",
	"InvalidToken":                    "the session token is invalid",
	"NoSuchBucket":                    "the bucket does not exist",
	"InvalidBucketName":               "the bucket name is invalid",
	"PermanentRedirect":               "the bucket is in another region than the client's",
	"AuthorizationHeaderMalformed":    "the client signs for another region than the bucket's",
	"InvalidArgument":                 "S3 refused an argument (encryption or ACL settings?)",
	"InvalidEncryptionAlgorithmError": "the encryption algorithm is not supported",
	"AccessControlListNotSupported":   "the bucket does not accept ACLs other than bucket-owner-full-control",
	"KMS.DisabledException":           "the KMS key is disabled",
	"KMS.NotFoundException":           "the KMS key does not exist",
	"KMS.KMSInvalidStateException":    "the KMS key is pending deletion or otherwise unusable",
	"KMS.InvalidKeyUsageException":    "the KMS key cannot be used for encryption",
	"KMS.AccessDeniedException":       "the writer lacks kms:GenerateDataKey on the KMS key",
	"KMS.InvalidStateException":       "the KMS key is not in a usable state",
	// MinIO's codes for KMS keys it does not have.
	"kms:KeyNotFound": "the KMS key does not exist",
	// HeadBucket answers without a body: S3 and the SDK then name the
	// error after the HTTP status.
	"Forbidden": "access denied (HTTP 403)",
	"NotFound":  "the bucket does not exist (HTTP 404)",
}

// classify wraps err with trail.ErrPermanent when S3 reports a
// condition that retrying cannot fix (IsPermanent); throttling, 5xx
// answers, timeouts and network errors are returned unchanged so that the
// recorder retries them.
func classify(err error) error { return awserr.Classify(err, IsPermanent) }

// IsPermanent reports whether err is an S3 error that retrying cannot fix:
// one of the codes listed in this package's documentation (AccessDenied,
// NoSuchBucket, InvalidAccessKeyId, KMS.DisabledException,
// KMS.NotFoundException, ...) or an HTTP 403/404 without a code.
func IsPermanent(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if _, ok := permanentCodes[code]; ok {
			return true
		}
		if isRetryableCode(code) {
			return false
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusForbidden, http.StatusNotFound, http.StatusMovedPermanently:
			return true
		}
	}
	return false
}

func isRetryableCode(code string) bool {
	switch code {
	case "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
		"InternalError", "ServiceUnavailable", "KMS.ThrottlingException", "KMS.KMSInternalException",
		"KMS.DependencyTimeoutException", "KMS.LimitExceededException":
		return true
	}
	return false
}

// explain describes err for the start-up check's message.
func explain(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if why, ok := permanentCodes[ae.ErrorCode()]; ok {
			return ae.ErrorCode() + ": " + why
		}
		return ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
	}
	return "request failed"
}

// isNotFound reports whether err says that an object does not exist.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		var ae smithy.APIError
		return !errors.As(err, &ae) || !strings.HasPrefix(ae.ErrorCode(), "NoSuchBucket")
	}
	return false
}
