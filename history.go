package trail

import (
	"context"
	"time"
)

// HistoryStore keeps the event history that LookupEvents searches: by default
// the management events of the last 90 days, whether or not a trail selects
// them. Implementations must be safe for concurrent use.
type HistoryStore interface {
	// Append stores events. It is idempotent by EventID: appending an event
	// whose EventID is already stored does nothing. The slice and the events
	// are only valid during the call; a store that keeps them must copy.
	Append(ctx context.Context, events []Event) error
	// Lookup returns one page of events matching q, newest first.
	Lookup(ctx context.Context, q *LookupQuery) (*LookupPage, error)
}

// Pruner is implemented by stores that can drop events older than a time.
// The recorder calls it in the background to enforce retention.
type Pruner interface {
	Prune(ctx context.Context, before time.Time) (int, error)
}

// LookupAttributeKey names an attribute LookupEvents can search by.
type LookupAttributeKey string

// The attribute keys of CloudTrail's LookupEvents.
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

// LookupAttribute is one attribute condition (key equals value).
type LookupAttribute struct {
	Key   LookupAttributeKey
	Value string
}

// LookupQuery is what a HistoryStore answers: all Attributes must match (AND),
// times are inclusive, MaxResults is already clamped to 1..50 by the recorder.
type LookupQuery struct {
	StartTime, EndTime time.Time
	Attributes         []LookupAttribute
	MaxResults         int
	NextToken          string
}

// LookupPage is one page of a lookup, newest event first. NextToken is empty
// on the last page.
type LookupPage struct {
	Events    []Event
	NextToken string
}
