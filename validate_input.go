package trail

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trailkit/trail/internal/jsontext"
)

// Trail management errors for the strings that become part of object keys
// or digests.
var (
	// ErrInvalidS3BucketName: Trail.Bucket breaks S3's bucket naming rules
	// (InvalidS3BucketNameException).
	ErrInvalidS3BucketName = &TrailError{Code: "InvalidS3BucketNameException"}
	// ErrInvalidS3Prefix: Trail.Prefix is not a safe key prefix
	// (InvalidS3PrefixException).
	ErrInvalidS3Prefix = &TrailError{Code: "InvalidS3PrefixException"}
)

// errBucketName and errPrefix mark configuration errors for the trail
// management calls (classifyConfigErr).
var (
	errBucketName = errors.New("invalid bucket name")
	errPrefix     = errors.New("invalid prefix")
)

// ValidateBucketName reports whether name follows S3's naming rules for
// general purpose buckets: 3 to 63 characters; lower-case letters, digits,
// '.' and '-'; beginning and ending with a letter or digit; no two adjacent
// periods; not formatted as an IPv4 address; none of the reserved prefixes
// (xn--, sthree-, amzn-s3-demo-) or suffixes (-s3alias, --ol-s3, .mrap,
// --x-s3, --table-s3). So a bucket name can never carry a path separator,
// "..", NUL or any other byte that could steer a key or a file path.
func ValidateBucketName(name string) error {
	fail := func(why string) error { return fmt.Errorf("%w %q: %s", errBucketName, name, why) }
	if len(name) < 3 || len(name) > 63 {
		return fail("must be 3 to 63 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return fail("must begin and end with a lower-case letter or digit")
			}
			if c == '.' && name[i-1] == '.' {
				return fail("two adjacent periods")
			}
		default:
			return fail("only lower-case letters, digits, '.' and '-'")
		}
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return fail("must not be formatted as an IP address")
	}
	for _, p := range [...]string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return fail("reserved prefix " + p)
		}
	}
	for _, sfx := range [...]string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return fail("reserved suffix " + sfx)
		}
	}
	return nil
}

// checkKeyParts validates the trail's strings that become part of object
// keys or of signed digests and are not checked elsewhere: the bucket name
// and the prefix's encoding (validatePrefix checks its segments).
func checkKeyParts(t *Trail) error {
	if t.Bucket != "" {
		if err := ValidateBucketName(t.Bucket); err != nil {
			return err
		}
	}
	if !utf8.ValidString(t.Prefix) {
		return fmt.Errorf("%w %q: not valid UTF-8", errPrefix, t.Prefix)
	}
	if err := validatePrefix(t.Prefix); err != nil {
		return fmt.Errorf("%w: %v", errPrefix, err)
	}
	return nil
}

// classifyKeyPartErr maps the errors of checkKeyParts to trail management
// errors; ok is false for other errors.
func classifyKeyPartErr(err error) (error, bool) {
	switch {
	case errors.Is(err, errBucketName):
		return trailErr(ErrInvalidS3BucketName, "%s", err.Error()), true
	case errors.Is(err, errPrefix):
		return trailErr(ErrInvalidS3Prefix, "%s", err.Error()), true
	}
	return nil, false
}

// checkRawText reports why a raw JSON field that json.Valid accepted is not
// interoperable text, or "" when it is: the bytes must be valid UTF-8 and
// every \u escape must denote a Unicode scalar value (no lone surrogate).
// Strict JSON parsers and PostgreSQL jsonb reject both, and would reject
// the whole log file for one such field. Record refuses the event (it does
// not repair it: a repaired value is not what the caller recorded).
func checkRawText(raw []byte) string {
	if !utf8.Valid(raw) {
		return "not valid UTF-8"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character; raw is valid JSON, so it exists
		if i >= len(raw) || raw[i] != 'u' || i+4 >= len(raw) {
			continue
		}
		r := jsontext.Hex4(raw[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo := jsontext.Hex4(raw[i+3 : i+7]); lo >= 0xdc00 && lo <= 0xdfff {
					i += 6
					continue
				}
			}
			return "lone surrogate escape (\\ud800-\\udbff without a low surrogate)"
		case r >= 0xdc00 && r <= 0xdfff:
			return "lone surrogate escape (\\udc00-\\udfff without a high surrogate)"
		}
	}
	return ""
}

// EventSizeOverhead is what CloudWatch Logs adds to a message when it
// counts an event's size (PutLogEvents: len(message) + 26 bytes).
const EventSizeOverhead = 26

// EncodedEventSize returns the size Record checks against MaxEventSize: the
// length of the event's encoded record (AppendJSON) plus EventSizeOverhead.
// It is the size cwlogsink counts for the record's log event, so every
// event Record accepts fits one CloudWatch Logs event at cwlogsink's
// default limit.
func EncodedEventSize(e *Event) int {
	bp := sizeBufs.Get().(*[]byte)
	b := e.AppendJSON((*bp)[:0])
	n := len(b) + EventSizeOverhead
	if cap(b) <= MaxEventSize+4096 {
		*bp = b[:0]
		sizeBufs.Put(bp)
	}
	return n
}

var sizeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// encodedSizeBound returns an upper bound of EncodedEventSize without
// encoding: a string byte encodes to at most 6 bytes (\u00XX, or \ufffd for
// an invalid byte), raw fields are copied compacted (never longer), and
// every key name, quote, separator, time and bool of a record fits in
// fixedBound (resourceBound per resource). TestEncodedSizeBound sets every
// string field of an Event by reflection and checks the bound holds, so a
// field added to Event and missed here fails it.
func encodedSizeBound(e *Event) int {
	u := &e.UserIdentity
	s := len(e.EventVersion) + len(e.EventSource) + len(e.EventName) + len(e.AWSRegion) +
		len(e.SourceIPAddress) + len(e.UserAgent) + len(e.ErrorCode) + len(e.ErrorMessage) +
		len(e.RequestID) + len(e.EventID) + len(e.EventType) + len(e.APIVersion) +
		len(e.RecipientAccountID) + len(e.SharedEventID) + len(e.VPCEndpointID) +
		len(e.VPCEndpointAccountID) + len(e.EventCategory) + len(e.SessionCredentialFromConsole) +
		len(u.Type) + len(u.PrincipalID) + len(u.ARN) + len(u.AccountID) + len(u.AccessKeyID) +
		len(u.UserName) + len(u.InvokedBy) + len(u.IdentityProvider) + len(u.CredentialID)
	raw := len(e.RequestParameters) + len(e.ResponseElements) + len(e.AdditionalEventData) +
		len(e.ServiceEventDetails) + len(e.EdgeDeviceDetails) + len(u.InScopeOf) + len(u.InvokedByDelegate)
	if sc := u.SessionContext; sc != nil {
		s += len(sc.SourceIdentity) + len(sc.EC2RoleDelivery) + len(sc.AssumedRoot) + len(sc.SignInSessionARN)
		if si := sc.SessionIssuer; si != nil {
			s += len(si.Type) + len(si.PrincipalID) + len(si.ARN) + len(si.AccountID) + len(si.UserName)
		}
		if wf := sc.WebIDFederationData; wf != nil {
			s += len(wf.FederatedProvider)
			raw += len(wf.Attributes)
		}
		if a := sc.Attributes; a != nil {
			s += len(a.CreationDate) + len(a.MFAAuthenticated)
		}
	}
	if o := u.OnBehalfOf; o != nil {
		s += len(o.UserID) + len(o.IdentityStoreARN)
	}
	if a := e.Addendum; a != nil {
		s += len(a.Reason) + len(a.UpdatedFields) + len(a.OriginalRequestID) + len(a.OriginalEventID)
	}
	if t := e.TLSDetails; t != nil {
		s += len(t.TLSVersion) + len(t.CipherSuite) + len(t.ClientProvidedHostHeader) + len(t.KeyExchange)
	}
	for i := range e.Resources {
		r := &e.Resources[i]
		s += len(r.AccountID) + len(r.Type) + len(r.ARN)
	}
	return 6*s + raw + 6*presenceSize(e) + fixedBound + resourceBound*len(e.Resources) + EventSizeOverhead
}

const (
	fixedBound    = 4096
	resourceBound = 64
)

// checkEncodedSize refuses an event whose encoded record is too large. It
// encodes the event only when the cheap bound does not settle it.
func checkEncodedSize(e *Event) error {
	if encodedSizeBound(e) <= MaxEventSize {
		return nil
	}
	if n := EncodedEventSize(e); n > MaxEventSize {
		return &ValidationError{Field: "event", Reason: fmt.Sprintf("encoded record is %d bytes (with %d bytes of CloudWatch Logs overhead), larger than 256 KB", n, EventSizeOverhead)}
	}
	return nil
}
