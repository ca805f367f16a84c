package trail

import (
	"context"
	"time"
)

// HistoryStore keeps the event history that LookupEvents searches: by default
// the management events of the last 90 days, whether or not a trail selects
// them. Implementations must be safe for concurrent use; the conformance kit
// in history/historytest checks the contract below.
//
// Events are ordered newest first: by EventTime descending, and by EventID
// descending (byte-wise) among events of the same second. Stores keep
// EventTime at second precision, as records do.
type HistoryStore interface {
	// Append stores events. It is idempotent by EventID: appending an event
	// whose EventID is already stored does nothing (the first copy wins,
	// also within one call). The slice and the events are only valid during
	// the call; a store that keeps them must copy.
	Append(ctx context.Context, events []Event) error
	// Lookup returns one page of the events matching q, newest first. The
	// page holds min(q.PageSize(), remaining) events; NextToken is set when
	// more matching events existed at the time of the call and empty on the
	// last page. A NextToken the store did not issue for the same query
	// (other than MaxResults) gives an error wrapping ErrInvalidPageToken;
	// an invalid query gives a *LookupError. Paging is consistent while
	// events are appended or pruned: every page continues strictly after
	// the last event of the previous one, so no event is returned twice.
	Lookup(ctx context.Context, q *QueryInput) (*QueryOutput, error)
}

// Pruner is implemented by stores that can drop events older than a time.
// The recorder calls it in the background to enforce
// HistoryOptions.Retention.
type Pruner interface {
	// Prune deletes the events whose EventTime is before the given time and
	// returns how many it deleted.
	Prune(ctx context.Context, before time.Time) (int, error)
}

// NoHistory, set as Config.History, disables event history: no event is
// kept and LookupEvents, Events and Query return ErrHistoryDisabled. It is
// not meant to be used as a store.
var NoHistory HistoryStore = noHistory{}

type noHistory struct{}

func (noHistory) Append(context.Context, []Event) error { return nil }

func (noHistory) Lookup(context.Context, *QueryInput) (*QueryOutput, error) {
	return nil, ErrHistoryDisabled
}

// History defaults.
const (
	// DefaultHistoryRetention is how long event history keeps events unless
	// HistoryOptions.Retention says otherwise (CloudTrail keeps 90 days).
	DefaultHistoryRetention = 90 * 24 * time.Hour
	// DefaultPruneInterval is how often the recorder prunes history.
	DefaultPruneInterval = time.Hour
	// DefaultHistoryMaxBytes bounds the default in-memory store.
	DefaultHistoryMaxBytes = 256 << 20
	// DefaultMaxResults is the page size of LookupEvents and Query when
	// MaxResults is zero, and the largest page LookupEvents returns.
	DefaultMaxResults = 50
	// MaxQueryResults is the largest page Query returns and stores serve.
	MaxQueryResults = 1000
)

// HistoryOptions selects the events that enter event history and how long
// they stay. The zero value keeps management events for 90 days, pruning
// hourly, as CloudTrail does.
type HistoryOptions struct {
	// Retention is how long events stay in history (default 90 days). The
	// recorder prunes stores that implement Pruner every PruneInterval; the
	// default in-memory store also drops older events on its own.
	Retention time.Duration
	// DataEvents also puts data and network-activity events in history.
	// CloudTrail's event history holds management events only (the
	// default).
	DataEvents bool
	// PruneInterval is how often the recorder prunes (default 1 hour). The
	// first prune runs when the recorder starts.
	PruneInterval time.Duration
	// MaxBytes bounds the memory of the default in-memory store (default
	// 256 MiB); the oldest events are evicted first. It is ignored when
	// Config.History is set.
	MaxBytes int64
}

func (o *HistoryOptions) withDefaults() (HistoryOptions, error) {
	h := *o
	if h.Retention < 0 || h.PruneInterval < 0 || h.MaxBytes < 0 {
		return h, configErr("HistoryOptions: negative Retention, PruneInterval or MaxBytes")
	}
	if h.Retention == 0 {
		h.Retention = DefaultHistoryRetention
	}
	if h.PruneInterval == 0 {
		h.PruneInterval = DefaultPruneInterval
	}
	if h.MaxBytes == 0 {
		h.MaxBytes = DefaultHistoryMaxBytes
	}
	return h, nil
}

// LookupAttributeKey names an attribute lookups can search by.
type LookupAttributeKey string

// The attribute keys of CloudTrail's LookupEvents. Values match exactly
// (case-sensitive):
//
//   - EventId, EventName, EventSource: the record's eventID, eventName,
//     eventSource.
//   - ReadOnly: "true" or "false" (an event without a readOnly flag counts
//     as "false", as in selectors).
//   - Username: see Event.LookupUsername.
//   - AccessKeyId: userIdentity.accessKeyId.
//   - ResourceType, ResourceName: the type or the ARN of any element of
//     resources.
const (
	LookupEventID      LookupAttributeKey = "EventId"
	LookupEventName    LookupAttributeKey = "EventName"
	LookupReadOnly     LookupAttributeKey = "ReadOnly"
	LookupUsername     LookupAttributeKey = "Username"
	LookupResourceType LookupAttributeKey = "ResourceType"
	LookupResourceName LookupAttributeKey = "ResourceName"
	LookupEventSource  LookupAttributeKey = "EventSource"
	LookupAccessKeyID  LookupAttributeKey = "AccessKeyId"
)

// Attribute keys beyond CloudTrail's, accepted by Recorder.Query and by
// stores but refused by LookupEvents.
const (
	// LookupEventCategory matches eventCategory: Management, Data or
	// NetworkActivity.
	LookupEventCategory LookupAttributeKey = "EventCategory"
	// LookupErrorCode matches errorCode exactly. To match every failed (or
	// every successful) call, use QueryInput.Errors.
	LookupErrorCode LookupAttributeKey = "ErrorCode"
)

// LookupAttribute is one attribute condition (key equals value).
type LookupAttribute struct {
	Key   LookupAttributeKey `json:"AttributeKey"`
	Value string             `json:"AttributeValue"`
}

// ErrorFilter selects events by whether their call failed (carries an
// errorCode).
type ErrorFilter int

// Error filters. The zero value, AnyOutcome, does not filter.
const (
	AnyOutcome ErrorFilter = iota // failed and successful calls
	OnlyErrors                    // only events with an errorCode
	NoErrors                      // only events without an errorCode
)

// QueryInput is the full query language of event history, what Recorder.Query
// takes and what a HistoryStore answers. It goes beyond LookupEvents: any
// number of attributes (all must match), the extra keys EventCategory and
// ErrorCode, and a filter on errorCode presence. The zero value matches every
// event up to now.
type QueryInput struct {
	// StartTime and EndTime bound eventTime, both inclusive. A zero
	// StartTime has no lower bound (the oldest event kept); a zero EndTime
	// means the time of the call. Stores compare at second precision:
	// StartTime is rounded up and EndTime down to a whole second.
	StartTime, EndTime time.Time
	// Attributes must all match (AND). The same key may appear twice (for
	// resources: an event with both resources).
	LookupAttributes []LookupAttribute
	// Errors selects failed or successful calls (default: both).
	Errors ErrorFilter
	// MaxResults is the page size: 0 means 50, larger than MaxQueryResults
	// means MaxQueryResults. See PageSize.
	MaxResults int
	// NextToken continues a previous page of the same query. It is opaque
	// and bound to the query (apart from MaxResults) and to the store that
	// issued it.
	NextToken string
}

// PageSize returns the number of events a page of q holds at most:
// MaxResults clamped to 1..MaxQueryResults, 50 when MaxResults is zero or
// negative.
func (q *QueryInput) PageSize() int {
	switch {
	case q.MaxResults <= 0:
		return DefaultMaxResults
	case q.MaxResults > MaxQueryResults:
		return MaxQueryResults
	}
	return q.MaxResults
}

// QueryOutput is one page of a lookup, newest event first. NextToken is empty
// on the last page.
type QueryOutput struct {
	Events    []Event
	NextToken string
}
