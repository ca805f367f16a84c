package trail

// CloudTrail's exception names, used as LookupError.Code.
const (
	CodeInvalidLookupAttributes = "InvalidLookupAttributesException"
	CodeInvalidTimeRange        = "InvalidTimeRangeException"
	CodeInvalidMaxResults       = "InvalidMaxResultsException"
	CodeInvalidNextToken        = "InvalidNextTokenException"
)

// LookupError reports a lookup or query the caller got wrong. Code is
// CloudTrail's exception name (one of the Code constants), so that a server
// imitating the LookupEvents API can answer {"__type": Code, "message": …}.
// It matches ErrInvalidLookup and Err (ErrInvalidLookupAttributes,
// ErrInvalidTimeRange, ErrInvalidMaxResults or ErrInvalidPageToken) with
// errors.Is.
type LookupError struct {
	Code   string // CloudTrail's exception name
	Reason string // what is wrong, for people
	Err    error  // the specific sentinel
}

// Error implements the error interface.
func (e *LookupError) Error() string { return "trail: " + e.Code + ": " + e.Reason }

// Unwrap returns ErrInvalidLookup and the specific sentinel.
func (e *LookupError) Unwrap() []error { return []error{ErrInvalidLookup, e.Err} }

func attrErr(reason string) error {
	return &LookupError{Code: CodeInvalidLookupAttributes, Reason: reason, Err: ErrInvalidLookupAttributes}
}

func timeRangeErr(reason string) error {
	return &LookupError{Code: CodeInvalidTimeRange, Reason: reason, Err: ErrInvalidTimeRange}
}

func maxResultsErr(reason string) error {
	return &LookupError{Code: CodeInvalidMaxResults, Reason: reason, Err: ErrInvalidMaxResults}
}

func tokenErr(reason string) error {
	return &LookupError{Code: CodeInvalidNextToken, Reason: reason, Err: ErrInvalidPageToken}
}
