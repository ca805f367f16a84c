package trail

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// InsightSelector enables one type of CloudTrail Insights on a trail
// (CloudTrail's PutInsightSelectors shape).
type InsightSelector struct {
	// InsightType is ApiCallRateInsight or ApiErrorRateInsight.
	InsightType string `json:"InsightType"`
	// EventCategories optionally lists the categories the insights analyze
	// (Management, Data); it is recorded, not used for selection.
	EventCategories []string `json:"EventCategories,omitempty"`
}

// Values of InsightSelector.InsightType and InsightDetails.InsightType.
const (
	InsightTypeAPICallRate  = "ApiCallRateInsight"
	InsightTypeAPIErrorRate = "ApiErrorRateInsight"
)

const (
	insightCallRate uint8 = 1 << iota
	insightErrorRate
)

// compileInsights turns a trail's insight selectors into a bit set.
func compileInsights(sels []InsightSelector) (uint8, error) {
	var m uint8
	for _, s := range sels {
		switch s.InsightType {
		case InsightTypeAPICallRate:
			m |= insightCallRate
		case InsightTypeAPIErrorRate:
			m |= insightErrorRate
		default:
			return 0, fmt.Errorf("InsightSelectors: InsightType %q: want %s or %s", s.InsightType, InsightTypeAPICallRate, InsightTypeAPIErrorRate)
		}
		for _, c := range s.EventCategories {
			if c != CategoryManagement && c != CategoryData {
				return 0, fmt.Errorf("InsightSelectors: EventCategories %q: want Management or Data", c)
			}
		}
	}
	return m, nil
}

// matchInsight reports whether a trail with Insights enabled takes the
// Insights event ev (region and account are checked by the caller).
func (t *compiledTrail) matchInsight(ev *Event) bool {
	if t.insights == 0 || ev.InsightDetails == nil {
		return false
	}
	switch ev.InsightDetails.InsightType {
	case InsightTypeAPICallRate:
		return t.insights&insightCallRate != 0
	case InsightTypeAPIErrorRate:
		return t.insights&insightErrorRate != 0
	}
	return false
}

// isInsightRecord reports whether rec, a record AppendJSON wrote, is an
// Insights event (for events that come back encoded, from the spool).
func isInsightRecord(rec []byte) bool {
	if !bytes.Contains(rec, []byte(`"eventCategory":"Insight"`)) {
		return false
	}
	var top struct {
		EventCategory string `json:"eventCategory"`
	}
	return json.Unmarshal(rec, &top) == nil && top.EventCategory == CategoryInsight
}
