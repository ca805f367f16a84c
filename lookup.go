package trail

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"
)

// LookupInput is a LookupEvents request, with CloudTrail's semantics:
//
//   - LookupAttributes holds at most one attribute (more is an error, as in
//     CloudTrail); see LookupAttributeKey for the keys.
//   - StartTime and EndTime are inclusive; zero means the oldest event kept
//     and now. StartTime after EndTime is an error.
//   - MaxResults is 1 to 50 (0 means 50).
//   - NextToken continues a previous call with the same parameters.
//
// For more than one attribute, event categories or errors, use
// Recorder.Query.
type LookupInput struct {
	LookupAttributes   []LookupAttribute
	StartTime, EndTime time.Time
	MaxResults         int
	NextToken          string
	// EventCategory "insight" returns only Insights events (eventCategory
	// Insight); empty returns every other event, as CloudTrail's
	// LookupEvents does (a page may then hold fewer than MaxResults events).
	EventCategory string
}

// LookupOutput is one page of LookupEvents, newest event first. NextToken is
// empty on the last page.
type LookupOutput struct {
	Events    []LookupEvent `json:"Events"`
	NextToken string        `json:"NextToken,omitempty"`
}

// LookupEvent is an event as LookupEvents returns it: CloudTrail's summary
// fields, CloudTrailEvent (the record as compact JSON, the bytes a log file
// holds) and, for Go callers, the decoded record itself. MarshalJSON writes
// CloudTrail's wire shape (EventTime in epoch seconds, Event left out).
type LookupEvent struct {
	EventID         string           // eventID
	EventName       string           // eventName
	ReadOnly        string           // "true" or "false"
	AccessKeyID     string           // userIdentity.accessKeyId
	EventTime       time.Time        // eventTime
	EventSource     string           // eventSource
	Username        string           // see Event.LookupUsername
	Resources       []LookupResource // one per element of resources
	CloudTrailEvent string           // the compact JSON record
	Event           Event            // the record
}

// LookupResource is a resource as LookupEvents reports it: ResourceType is
// the resource's type (may be empty), ResourceName its ARN.
type LookupResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// NewLookupEvent builds the LookupEvents view of ev. ev is copied shallowly:
// the result shares ev's slices.
func NewLookupEvent(ev *Event) LookupEvent {
	le := LookupEvent{
		EventID: ev.EventID, EventName: ev.EventName, ReadOnly: strconv.FormatBool(ev.IsReadOnly()),
		AccessKeyID: ev.UserIdentity.AccessKeyID, EventTime: ev.EventTime, EventSource: ev.EventSource,
		Username: ev.LookupUsername(), CloudTrailEvent: string(ev.AppendJSON(nil)), Event: *ev,
	}
	if len(ev.Resources) > 0 {
		le.Resources = make([]LookupResource, len(ev.Resources))
		for i, r := range ev.Resources {
			le.Resources[i] = LookupResource{ResourceType: r.Type, ResourceName: r.ARN}
		}
	}
	return le
}

// MarshalJSON writes the event in the shape of CloudTrail's LookupEvents
// response: EventId, EventName, ReadOnly, AccessKeyId, EventTime (epoch
// seconds), EventSource, Username, Resources, CloudTrailEvent. Empty
// optional fields are left out.
func (e LookupEvent) MarshalJSON() ([]byte, error) {
	b := []byte(`{"EventId":`)
	b = appendString(b, e.EventID)
	b = appendField(b, "EventName", e.EventName)
	b = appendField(b, "ReadOnly", e.ReadOnly)
	b = appendOpt(b, "AccessKeyId", e.AccessKeyID)
	b = append(b, `,"EventTime":`...)
	b = strconv.AppendInt(b, e.EventTime.Unix(), 10)
	b = append(b, ".0"...)
	b = appendField(b, "EventSource", e.EventSource)
	b = appendOpt(b, "Username", e.Username)
	if len(e.Resources) > 0 {
		b = append(b, `,"Resources":[`...)
		for i, r := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = openObject(b)
			b = appendOpt(b, "ResourceType", r.ResourceType)
			b = appendOpt(b, "ResourceName", r.ResourceName)
			b = closeObject(b)
		}
		b = append(b, ']')
	}
	b = appendField(b, "CloudTrailEvent", e.CloudTrailEvent)
	return append(b, '}'), nil
}

// LookupUsername returns the user name LookupEvents reports for the event
// and its Username attribute matches, following CloudTrail:
//
//   - Root: "root";
//   - AssumedRole: the role session name (the last segment of the
//     assumed-role ARN, or what follows ':' in principalId);
//   - FederatedUser: the federated user name (likewise);
//   - otherwise userName (the IAM user name), else the last segment of the
//     ARN, else invokedBy for AWSService identities, else "".
func (e *Event) LookupUsername() string {
	u := &e.UserIdentity
	switch u.Type {
	case "Root":
		return "root"
	case "AssumedRole", "FederatedUser":
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 && i+1 < len(u.ARN) {
			return u.ARN[i+1:]
		}
		if i := strings.IndexByte(u.PrincipalID, ':'); i >= 0 && i+1 < len(u.PrincipalID) {
			return u.PrincipalID[i+1:]
		}
	}
	if u.UserName != "" {
		return u.UserName
	}
	if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 && i+1 < len(u.ARN) {
		return u.ARN[i+1:]
	}
	if u.Type == "AWSService" {
		return u.InvokedBy
	}
	return ""
}

// HasLookupValue reports whether the event has value for the attribute key
// (see LookupAttributeKey for what each key matches). Unknown keys match
// nothing.
func (e *Event) HasLookupValue(key LookupAttributeKey, value string) bool {
	switch key {
	case LookupEventID:
		return e.EventID == value
	case LookupEventName:
		return e.EventName == value
	case LookupEventSource:
		return e.EventSource == value
	case LookupReadOnly:
		return value == strconv.FormatBool(e.IsReadOnly())
	case LookupUsername:
		return value != "" && e.LookupUsername() == value
	case LookupAccessKeyID:
		return value != "" && e.UserIdentity.AccessKeyID == value
	case LookupResourceType:
		for i := range e.Resources {
			if e.Resources[i].Type == value && value != "" {
				return true
			}
		}
	case LookupResourceName:
		for i := range e.Resources {
			if e.Resources[i].ARN == value && value != "" {
				return true
			}
		}
	case LookupEventCategory:
		return e.EventCategory == value
	case LookupErrorCode:
		return value != "" && e.ErrorCode == value
	}
	return false
}

// Match reports whether ev satisfies q's attributes and error filter. It
// does not look at the time range or the token.
func (q *QueryInput) Match(ev *Event) bool {
	switch q.Errors {
	case OnlyErrors:
		if ev.ErrorCode == "" {
			return false
		}
	case NoErrors:
		if ev.ErrorCode != "" {
			return false
		}
	}
	for _, a := range q.LookupAttributes {
		if !ev.HasLookupValue(a.Key, a.Value) {
			return false
		}
	}
	return true
}

// TimeBounds returns q's inclusive time range in Unix seconds: StartTime
// rounded up (math.MinInt64 when zero) and EndTime rounded down (now when
// zero).
func (q *QueryInput) TimeBounds(now time.Time) (lo, hi int64) {
	lo, hi = math.MinInt64, now.Unix()
	if !q.StartTime.IsZero() {
		lo = ceilUnix(q.StartTime)
	}
	if !q.EndTime.IsZero() {
		hi = q.EndTime.Unix()
	}
	return lo, hi
}

// maxLookupValue is CloudTrail's limit on an attribute value, where '_',
// ' ', ',' and '\n' count double.
const maxLookupValue = 2000

func lookupValueLen(v string) int {
	n := 0
	for _, c := range v {
		n++
		switch c {
		case '_', ' ', ',', '\n':
			n++
		}
	}
	return n
}

// Validate checks q: known attribute keys, values of 1 to 2000 characters
// (with '_', ' ', ',' and newline counting double, as in CloudTrail),
// ReadOnly values "true" or "false", a known Errors filter, and StartTime not
// after EndTime (or after now, when EndTime is zero). Errors are
// *LookupError values. MaxResults is not checked: stores clamp it (see
// PageSize).
func (q *QueryInput) Validate() error {
	for _, a := range q.LookupAttributes {
		switch a.Key {
		case LookupEventID, LookupEventName, LookupUsername, LookupResourceType, LookupResourceName,
			LookupEventSource, LookupAccessKeyID, LookupEventCategory, LookupErrorCode:
		case LookupReadOnly:
			if a.Value != "true" && a.Value != "false" {
				return attrErr(fmt.Sprintf("ReadOnly value %q: want true or false", a.Value))
			}
		default:
			return attrErr(fmt.Sprintf("unknown attribute key %q", a.Key))
		}
		if a.Value == "" {
			return attrErr(fmt.Sprintf("%s: empty value", a.Key))
		}
		if len(a.Value) > 4*maxLookupValue || lookupValueLen(a.Value) > maxLookupValue {
			return attrErr(fmt.Sprintf("%s: value longer than %d characters", a.Key, maxLookupValue))
		}
	}
	if q.Errors < AnyOutcome || q.Errors > NoErrors {
		return attrErr(fmt.Sprintf("unknown error filter %d", q.Errors))
	}
	end := q.EndTime
	if end.IsZero() {
		end = time.Now()
	}
	if !q.StartTime.IsZero() && q.StartTime.After(end) {
		return timeRangeErr(fmt.Sprintf("start time %s is after end time %s",
			q.StartTime.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)))
	}
	return nil
}

// History returns the store that holds the recorder's event history:
// Config.History, the default in-memory store (a *MemoryHistory), or nil
// when history is disabled.
func (r *Recorder) History() HistoryStore {
	if r.unusable() != nil {
		return nil
	}
	return r.history.store
}

// LookupEvents returns one page of event history with CloudTrail's
// LookupEvents semantics (see LookupInput). An event is visible as soon as
// Record returned nil for it (read-your-writes; no Flush needed), when
// history keeps it (management events, and data events with
// HistoryOptions.DataEvents). Errors: a *LookupError for a bad input or NextToken (matching
// ErrInvalidLookup and a specific sentinel), ErrHistoryDisabled, or the
// store's error.
func (r *Recorder) LookupEvents(ctx context.Context, in LookupInput) (*LookupOutput, error) {
	q, err := lookupQuery(&in)
	if err != nil {
		return nil, err
	}
	page, err := r.lookupHistory(ctx, &q)
	if err != nil {
		return nil, err
	}
	out := &LookupOutput{NextToken: page.NextToken, Events: make([]LookupEvent, 0, len(page.Events))}
	for i := range page.Events {
		if in.EventCategory == "" && page.Events[i].EventCategory == CategoryInsight {
			continue
		}
		out.Events = append(out.Events, NewLookupEvent(&page.Events[i]))
	}
	return out, nil
}

func lookupQuery(in *LookupInput) (QueryInput, error) {
	if len(in.LookupAttributes) > 1 {
		return QueryInput{}, attrErr(fmt.Sprintf("%d lookup attributes; LookupEvents accepts at most one (use Query for more)", len(in.LookupAttributes)))
	}
	for _, a := range in.LookupAttributes {
		if a.Key == LookupEventCategory || a.Key == LookupErrorCode {
			return QueryInput{}, attrErr(fmt.Sprintf("attribute key %q is not a LookupEvents key (use Query)", a.Key))
		}
	}
	if in.MaxResults < 0 || in.MaxResults > DefaultMaxResults {
		return QueryInput{}, maxResultsErr(fmt.Sprintf("MaxResults %d: want 1 to %d", in.MaxResults, DefaultMaxResults))
	}
	attrs := in.LookupAttributes
	switch in.EventCategory {
	case "":
	case "insight", "Insight":
		attrs = append(attrs[:len(attrs):len(attrs)], LookupAttribute{Key: LookupEventCategory, Value: CategoryInsight})
	default:
		return QueryInput{}, attrErr(fmt.Sprintf("EventCategory %q: want insight", in.EventCategory))
	}
	return QueryInput{StartTime: in.StartTime, EndTime: in.EndTime, LookupAttributes: attrs,
		MaxResults: in.MaxResults, NextToken: in.NextToken}, nil
}

// Query returns one page of event history matching q, the query language
// beyond LookupEvents: several attributes (AND), the EventCategory and
// ErrorCode keys, and a filter on failed calls (see QueryInput).
// MaxResults is 1 to MaxQueryResults (0 means 50). Errors are those of
// LookupEvents.
func (r *Recorder) Query(ctx context.Context, q QueryInput) (*QueryOutput, error) {
	if q.MaxResults < 0 || q.MaxResults > MaxQueryResults {
		return nil, maxResultsErr(fmt.Sprintf("MaxResults %d: want 1 to %d", q.MaxResults, MaxQueryResults))
	}
	return r.lookupHistory(ctx, &q)
}

func (r *Recorder) lookupHistory(ctx context.Context, q *QueryInput) (*QueryOutput, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	if r.history.store == nil {
		return nil, ErrHistoryDisabled
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := r.awaitHistory(ctx); err != nil {
		return nil, err
	}
	page, err := r.history.store.Lookup(ctx, q)
	if err != nil {
		var le *LookupError
		if errors.As(err, &le) || errors.Is(err, ErrInvalidLookup) || errors.Is(err, ErrInvalidPageToken) ||
			errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("trail: history lookup: %w", err)
	}
	return page, nil
}

// Events iterates over every event LookupEvents would return for in, page
// after page, hiding NextToken (in.NextToken, if set, is where it starts;
// in.MaxResults is the page size). On an error it yields the error once and
// stops.
func (r *Recorder) Events(ctx context.Context, in LookupInput) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		q, err := lookupQuery(&in)
		if err != nil {
			yield(Event{}, err)
			return
		}
		r.iterate(ctx, q, yield)
	}
}

// QueryEvents iterates over every event Query would return for q, page after
// page, hiding NextToken. On an error it yields the error once and stops.
func (r *Recorder) QueryEvents(ctx context.Context, q QueryInput) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if q.MaxResults < 0 || q.MaxResults > MaxQueryResults {
			yield(Event{}, maxResultsErr(fmt.Sprintf("MaxResults %d: want 1 to %d", q.MaxResults, MaxQueryResults)))
			return
		}
		r.iterate(ctx, q, yield)
	}
}

func (r *Recorder) iterate(ctx context.Context, q QueryInput, yield func(Event, error) bool) {
	for {
		if err := ctx.Err(); err != nil {
			yield(Event{}, err)
			return
		}
		page, err := r.lookupHistory(ctx, &q)
		if err != nil {
			yield(Event{}, err)
			return
		}
		for i := range page.Events {
			if !yield(page.Events[i], nil) {
				return
			}
		}
		if page.NextToken == "" {
			return
		}
		q.NextToken = page.NextToken
	}
}
