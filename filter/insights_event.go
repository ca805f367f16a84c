package filter

import (
	"github.com/trailkit/trail"
)

// Event returns the Insight as a CloudTrail Insights record (spec §8):
// eventType AwsCloudTrailInsight, eventCategory Insight, no userIdentity,
// eventSource or eventName at the top level. Record stamps the event ID,
// region and account.
func (in Insight) Event() *trail.Event {
	return &trail.Event{
		EventVersion:  "1.08",
		EventTime:     in.Time,
		EventType:     "AwsCloudTrailInsight",
		EventCategory: "Insight",
		SharedEventID: in.SharedEventID,
	}
}
