package filter

import (
	"strconv"

	"github.com/trailkit/trail"
)

// Event returns the Insight as a CloudTrail Insights record (eventType
// AwsCloudTrailInsight, eventCategory Insight, no userIdentity, eventSource
// or eventName at the top level; insightDetails with the statistics and
// attributions). Record stamps the event ID, region and account; a trail
// whose InsightSelectors name the type delivers it under CloudTrail-Insight/.
func (in Insight) Event() *trail.Event {
	d := &trail.InsightDetails{State: in.State, EventSource: in.EventSource, EventName: in.EventName, InsightType: in.Type}
	if in.Type == ApiErrorRateInsight {
		for _, a := range in.Attributions {
			if a.Attribute == "errorCode" && len(a.Insight) > 0 {
				d.ErrorCode = a.Insight[0].Value
			}
		}
	}
	d.InsightContext = in.appendContext(nil)
	return &trail.Event{
		EventVersion:   "1.08",
		EventTime:      in.Time,
		EventType:      trail.EventTypeInsight,
		EventCategory:  trail.CategoryInsight,
		SharedEventID:  in.SharedEventID,
		InsightDetails: d,
	}
}

// appendContext writes insightContext: statistics and attributions, in the
// key order of CloudTrail's records. The detector keeps no per-attribute
// baseline, so each attribution's baseline list is empty.
func (in Insight) appendContext(b []byte) []byte {
	num := func(b []byte, f float64) []byte { return strconv.AppendFloat(b, f, 'f', -1, 64) }
	b = append(b, `{"statistics":{"baseline":{"average":`...)
	b = num(b, round4(in.Baseline))
	b = append(b, `},"insight":{"average":`...)
	b = num(b, round4(in.Average))
	b = append(b, `},"insightDuration":`...)
	b = strconv.AppendInt(b, int64(in.Duration), 10)
	b = append(b, `,"baselineDuration":`...)
	b = strconv.AppendInt(b, int64(in.BaselineDuration), 10)
	b = append(b, `},"attributions":[`...)
	for i, a := range in.Attributions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"attribute":`...)
		b = strconv.AppendQuote(b, a.Attribute)
		b = append(b, `,"insight":[`...)
		for j, v := range a.Insight {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendJSONString(b, v.Value)
			b = append(b, `,"average":`...)
			b = num(b, round4(v.Average))
			b = append(b, '}')
		}
		b = append(b, `],"baseline":[]}`...)
	}
	return append(b, "]}"...)
}

func round4(f float64) float64 {
	s := strconv.FormatFloat(f, 'f', 4, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

// appendJSONString writes s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xF])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
