package trail

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TrailError is an error of trail management, with CloudTrail's exception
// name as Code. The Err* values below are TrailErrors without a message;
// errors.Is matches any TrailError with the same Code:
//
//	if errors.Is(err, trail.ErrTrailNotFound) { … }
type TrailError struct {
	Code    string // CloudTrail's exception name, e.g. "TrailNotFoundException"
	Message string
}

// Error implements the error interface.
func (e *TrailError) Error() string {
	if e.Message == "" {
		return "trail: " + e.Code
	}
	return "trail: " + e.Code + ": " + e.Message
}

// Is reports whether target is a *TrailError with the same Code.
func (e *TrailError) Is(target error) bool {
	t, ok := target.(*TrailError)
	return ok && t.Code == e.Code
}

// Trail management errors, to be matched with errors.Is.
var (
	ErrTrailNotFound          = &TrailError{Code: "TrailNotFoundException"}
	ErrTrailAlreadyExists     = &TrailError{Code: "TrailAlreadyExistsException"}
	ErrInvalidTrailName       = &TrailError{Code: "InvalidTrailNameException"}
	ErrInvalidEventSelectors  = &TrailError{Code: "InvalidEventSelectorsException"}
	ErrInvalidParameter       = &TrailError{Code: "InvalidParameterCombinationException"}
	ErrMaximumNumberOfTrails  = &TrailError{Code: "MaximumNumberOfTrailsExceededException"}
	ErrInvalidCloudTrailARN   = &TrailError{Code: "CloudTrailARNInvalidException"}
	ErrInsufficientDependency = &TrailError{Code: "InsufficientDependencyServiceAccessPermissionException"}
)

func trailErr(base *TrailError, format string, args ...any) error {
	return &TrailError{Code: base.Code, Message: fmt.Sprintf(format, args...)}
}

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

// Sentinel errors. Test for them with errors.Is; they may be wrapped.
var (
	// ErrClosed is returned by Record, Flush and the trail management calls
	// once Close has begun. (Close itself is idempotent and returns nil
	// when called again.)
	ErrClosed = errors.New("trail: recorder closed")
	// ErrOverloaded is returned by Record under the Reject overflow policy when the
	// ingest queue is full.
	ErrOverloaded = errors.New("trail: recorder overloaded")
	// ErrPermanent marks a sink error that retrying cannot fix (access denied, no
	// such bucket, a key that escapes the directory). Sinks wrap it:
	//
	//	return fmt.Errorf("%w: %w", trail.ErrPermanent, err)
	//
	// The recorder stops retrying a delivery whose error matches ErrPermanent.
	ErrPermanent = errors.New("trail: permanent delivery failure")
	// ErrInvalidPageToken is returned by LookupEvents, Query and stores for a
	// NextToken that was not issued by the same history for the same query
	// (InvalidNextTokenException).
	ErrInvalidPageToken = errors.New("trail: invalid page token")
	// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
	ErrInvalidConfig = errors.New("trail: invalid config")
	// ErrNotLogFile is wrapped by DecodeLogFile's error for input that is
	// not a CloudTrail log file (a JSON object with a Records array, gzip'd
	// or not).
	ErrNotLogFile = errors.New("trail: not a CloudTrail log file")
	// ErrInvalidLookup is matched by every *LookupError: a lookup or query
	// the caller got wrong (bad attributes, time range, page size or token).
	ErrInvalidLookup = errors.New("trail: invalid lookup")
	// ErrInvalidLookupAttributes: an unknown attribute key, an empty or too
	// long value, or more than one attribute for LookupEvents
	// (CloudTrail's InvalidLookupAttributesException).
	ErrInvalidLookupAttributes = errors.New("trail: invalid lookup attributes")
	// ErrInvalidTimeRange: StartTime after EndTime
	// (InvalidTimeRangeException).
	ErrInvalidTimeRange = errors.New("trail: invalid time range")
	// ErrInvalidMaxResults: MaxResults outside 1..50 for LookupEvents or
	// 1..MaxQueryResults for Query (InvalidMaxResultsException).
	ErrInvalidMaxResults = errors.New("trail: invalid max results")
	// ErrHistoryDisabled is returned by lookups when Config.History is
	// NoHistory.
	ErrHistoryDisabled = errors.New("trail: event history disabled")
)

// ValidationError reports an event that Record refused. Field names the
// offending record field in CloudTrail's JSON spelling (for example
// "eventSource" or "userIdentity.accountId").
type ValidationError struct {
	Field  string // JSON path of the field, e.g. "requestParameters"
	Reason string // what is wrong with it
}

// Error implements the error interface.
func (e *ValidationError) Error() string {
	return "trail: invalid event: " + e.Field + ": " + e.Reason
}

// DeliveryError reports a log or digest file that a sink failed to store. It is
// passed to Config.OnError after every failed attempt and counted in Stats.
type DeliveryError struct {
	Trail   string        // trail name
	Sink    string        // sink description (its fmt %T unless it implements fmt.Stringer)
	Key     string        // object key of the file
	Attempt int           // 1 for the first attempt
	Final   bool          // true when the recorder gave up on the file
	Err     error         // what the sink returned
	Backoff time.Duration // delay before the next attempt; zero when Final
	Digest  bool          // true when the file is a digest file
	Records int           // number of records in the file (0 for digests)
}

// Error implements the error interface.
func (e *DeliveryError) Error() string {
	kind := "log file"
	if e.Digest {
		kind = "digest file"
	}
	state := fmt.Sprintf("attempt %d, retrying in %s", e.Attempt, e.Backoff)
	if e.Final {
		state = fmt.Sprintf("gave up after %d attempt(s)", e.Attempt)
	}
	return fmt.Sprintf("trail %q: deliver %s %s to %s (%s): %v", e.Trail, kind, e.Key, e.Sink, state, e.Err)
}

// Unwrap returns the sink's error.
func (e *DeliveryError) Unwrap() error { return e.Err }

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// HistoryError reports events that event history did not keep: the history
// queue was full (the store is slower than Record), HistoryStore.Append
// failed, or Close gave up on the store. It is passed to Config.OnError
// and the events are counted in Stats.HistoryDropped; delivery to the
// trails' sinks is not affected.
type HistoryError struct {
	Events int    // events not kept
	Reason string // why
	Err    error  // the store's error, if any
}

// Error implements the error interface.
func (e *HistoryError) Error() string {
	s := fmt.Sprintf("trail: event history did not keep %d event(s): %s", e.Events, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the store's error.
func (e *HistoryError) Unwrap() error { return e.Err }

// CloseError is returned by Recorder.Close when its ctx ended before
// everything was delivered. It wraps ctx's error (errors.Is(err,
// context.DeadlineExceeded) holds) and lists what was not delivered.
// Deliveries still running when Close returned may complete later; the
// counts are a snapshot.
type CloseError struct {
	Err error // ctx's error
	// Sinks lists, per (trail, sink), what the sink did not store: files
	// still queued or being delivered, files given up during Close, and
	// files the pipeline had not yet handed to it.
	Sinks []SinkBacklog
	// Events counts recorded events not yet cut into a log file.
	Events int
	// HistoryEvents counts events history did not keep.
	HistoryEvents int
}

// SinkBacklog is what one sink of one trail did not store.
type SinkBacklog struct {
	Trail   string // trail name
	Sink    string // sink description, as in DeliveryError.Sink
	Files   int    // log files
	Records int    // records in those files
	Digests int    // digest files
}

// Error implements the error interface.
func (e *CloseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "trail: close: %v; not delivered:", e.Err)
	n := 0
	for _, s := range e.Sinks {
		if n > 0 {
			b.WriteByte(';')
		}
		n++
		fmt.Fprintf(&b, " trail %q sink %s: %d file(s), %d record(s)", s.Trail, s.Sink, s.Files, s.Records)
		if s.Digests > 0 {
			fmt.Fprintf(&b, ", %d digest(s)", s.Digests)
		}
	}
	if e.Events > 0 {
		if n > 0 {
			b.WriteByte(';')
		}
		n++
		fmt.Fprintf(&b, " %d event(s) not yet in a log file", e.Events)
	}
	if e.HistoryEvents > 0 {
		if n > 0 {
			b.WriteByte(';')
		}
		n++
		fmt.Fprintf(&b, " history: %d event(s) not kept", e.HistoryEvents)
	}
	if n == 0 {
		b.WriteString(" nothing")
	}
	return b.String()
}

// Unwrap returns ctx's error.
func (e *CloseError) Unwrap() error { return e.Err }
