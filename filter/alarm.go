package filter

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// AlarmState is the state of an alarm, spelled as CloudWatch spells it.
type AlarmState string

// The states of an alarm. A new alarm is INSUFFICIENT_DATA.
const (
	StateOK               AlarmState = "OK"
	StateAlarm            AlarmState = "ALARM"
	StateInsufficientData AlarmState = "INSUFFICIENT_DATA"
)

// Comparison compares a datapoint with an alarm's threshold (CloudWatch's
// ComparisonOperator values).
type Comparison string

// The comparisons.
const (
	GreaterThanOrEqualToThreshold Comparison = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          Comparison = "GreaterThanThreshold"
	LessThanThreshold             Comparison = "LessThanThreshold"
	LessThanOrEqualToThreshold    Comparison = "LessThanOrEqualToThreshold"
)

// Statistic is how an alarm reduces a period's values to one datapoint.
type Statistic string

// The statistics.
const (
	StatSum         Statistic = "Sum"
	StatAverage     Statistic = "Average"
	StatMinimum     Statistic = "Minimum"
	StatMaximum     Statistic = "Maximum"
	StatSampleCount Statistic = "SampleCount"
)

// MissingData says how an alarm treats a period without a datapoint
// (CloudWatch's TreatMissingData values).
type MissingData string

// The treatments of missing data.
const (
	// MissingMissing (the default): missing periods are left out; when all
	// of the evaluation range is missing the alarm goes to INSUFFICIENT_DATA.
	MissingMissing MissingData = "missing"
	// MissingNotBreaching counts a missing period as within the threshold.
	MissingNotBreaching MissingData = "notBreaching"
	// MissingBreaching counts a missing period as breaching the threshold.
	MissingBreaching MissingData = "breaching"
	// MissingIgnore keeps the current state when all of the range is missing.
	MissingIgnore MissingData = "ignore"
)

// Alarm watches one metric of a Metrics. It is evaluated at the end of every
// period of length Period (aligned to the UTC clock) over the last
// EvaluationPeriods periods; it goes to ALARM when at least
// DatapointsToAlarm of them breach the threshold, to OK otherwise, and to
// INSUFFICIENT_DATA as TreatMissingData says.
type Alarm struct {
	// Name identifies the alarm in AlarmChange and Metrics.AlarmState.
	Name string
	// MetricNamespace, MetricName and Dimensions select the series (nil
	// Dimensions: the series without dimensions).
	MetricNamespace, MetricName string
	Dimensions                  map[string]string
	// Statistic reduces a period (default Sum).
	Statistic Statistic
	// Period is a whole multiple of the Metrics period (default: that period).
	Period time.Duration
	// EvaluationPeriods is how many periods are evaluated (default 1).
	EvaluationPeriods int
	// DatapointsToAlarm is how many of them must breach (default
	// EvaluationPeriods).
	DatapointsToAlarm int
	// Threshold and Comparison define breaching (Comparison default
	// GreaterThanOrEqualToThreshold).
	Threshold  float64
	Comparison Comparison
	// TreatMissingData (default MissingMissing).
	TreatMissingData MissingData
	// OnChange, when set, is called with every state change, from the
	// Metrics goroutine, with no lock held.
	OnChange func(AlarmChange)
}

// AlarmChange reports an alarm state change.
type AlarmChange struct {
	Alarm    string
	Previous AlarmState
	State    AlarmState
	// Time is the end of the last evaluated period.
	Time time.Time
	// Datapoints are the evaluated periods' values, oldest first; NaN for a
	// missing period.
	Datapoints []float64
	// Reason says why, in CloudWatch's words.
	Reason string

	alarm *Alarm
}

type alarmState struct {
	Alarm
	key   string
	state AlarmState
}

func (m *Metrics) compileAlarm(a Alarm) (*alarmState, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: alarm %q: %s", ErrInvalidMetricFilter, a.Name, fmt.Sprintf(format, args...))
	}
	if a.Name == "" || a.MetricNamespace == "" || a.MetricName == "" {
		return nil, bad("Name, MetricNamespace and MetricName are required")
	}
	if a.Statistic == "" {
		a.Statistic = StatSum
	}
	switch a.Statistic {
	case StatSum, StatAverage, StatMinimum, StatMaximum, StatSampleCount:
	default:
		return nil, bad("unknown Statistic %q", a.Statistic)
	}
	if a.Period == 0 {
		a.Period = m.period
	}
	if a.Period < m.period || a.Period%m.period != 0 {
		return nil, bad("Period %v is not a multiple of the metrics period %v", a.Period, m.period)
	}
	if a.EvaluationPeriods == 0 {
		a.EvaluationPeriods = 1
	}
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	if a.EvaluationPeriods < 0 || a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > a.EvaluationPeriods {
		return nil, bad("need 1 <= DatapointsToAlarm <= EvaluationPeriods")
	}
	if time.Duration(a.EvaluationPeriods)*a.Period > m.retention {
		return nil, bad("EvaluationPeriods × Period exceeds the metrics retention")
	}
	if a.Comparison == "" {
		a.Comparison = GreaterThanOrEqualToThreshold
	}
	switch a.Comparison {
	case GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold:
	default:
		return nil, bad("unknown Comparison %q", a.Comparison)
	}
	if a.TreatMissingData == "" {
		a.TreatMissingData = MissingMissing
	}
	switch a.TreatMissingData {
	case MissingMissing, MissingNotBreaching, MissingBreaching, MissingIgnore:
	default:
		return nil, bad("unknown TreatMissingData %q", a.TreatMissingData)
	}
	dims := make([]Dimension, 0, len(a.Dimensions))
	for k, v := range a.Dimensions {
		dims = append(dims, Dimension{Name: k, Value: v})
	}
	slices.SortFunc(dims, func(x, y Dimension) int { return strings.Compare(x.Name, y.Name) })
	return &alarmState{Alarm: a, key: seriesKey(a.MetricNamespace, a.MetricName, dims), state: StateInsufficientData}, nil
}

// AlarmState returns the alarm's current state ("" for an unknown name).
func (m *Metrics) AlarmState(name string) AlarmState {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.alarms {
		if a.Name == name {
			return a.state
		}
	}
	return ""
}

func (a *alarmState) breaches(v float64) bool {
	switch a.Comparison {
	case GreaterThanOrEqualToThreshold:
		return v >= a.Threshold
	case GreaterThanThreshold:
		return v > a.Threshold
	case LessThanThreshold:
		return v < a.Threshold
	case LessThanOrEqualToThreshold:
		return v <= a.Threshold
	}
	return false
}

func statOf(s Stats, st Statistic) float64 {
	switch st {
	case StatAverage:
		return s.Average()
	case StatMinimum:
		return s.Minimum
	case StatMaximum:
		return s.Maximum
	case StatSampleCount:
		return s.SampleCount
	}
	return s.Sum
}

// evaluate evaluates a at boundary (m.mu held) and returns the change, if any.
func (m *Metrics) evaluate(a *alarmState, boundary time.Time) (AlarmChange, bool) {
	if boundary.UnixNano()%int64(a.Period) != 0 {
		return AlarmChange{}, false
	}
	s := m.series[a.key]
	sub := int64(a.Period / m.period)
	end := m.periodIndex(boundary)
	points := make([]float64, a.EvaluationPeriods)
	present, breaching := 0, 0
	for k := 0; k < a.EvaluationPeriods; k++ {
		hi := end - int64(a.EvaluationPeriods-1-k)*sub
		var agg Stats
		if s != nil {
			for idx := hi - sub; idx < hi; idx++ {
				if st := s.points[idx]; st != nil {
					agg.merge(*st)
				}
			}
		}
		if agg.SampleCount == 0 {
			points[k] = math.NaN()
			switch a.TreatMissingData {
			case MissingBreaching:
				breaching++
			}
			continue
		}
		present++
		v := statOf(agg, a.Statistic)
		points[k] = v
		if a.breaches(v) {
			breaching++
		}
	}
	next := StateOK
	var reason string
	switch {
	case present == 0 && a.TreatMissingData == MissingMissing:
		next = StateInsufficientData
		reason = fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", a.EvaluationPeriods)
	case present == 0 && a.TreatMissingData == MissingIgnore:
		return AlarmChange{}, false
	case breaching >= a.DatapointsToAlarm:
		next = StateAlarm
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints were %s the threshold (%g).",
			breaching, a.EvaluationPeriods, comparisonWords(a.Comparison), a.Threshold)
	default:
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints were not %s the threshold (%g).",
			a.EvaluationPeriods-breaching, a.EvaluationPeriods, comparisonWords(a.Comparison), a.Threshold)
	}
	if next == a.state {
		return AlarmChange{}, false
	}
	c := AlarmChange{Alarm: a.Name, Previous: a.state, State: next, Time: boundary.UTC(), Datapoints: points, Reason: reason, alarm: &a.Alarm}
	a.state = next
	return c, true
}

func comparisonWords(c Comparison) string {
	switch c {
	case GreaterThanOrEqualToThreshold:
		return "greater than or equal to"
	case GreaterThanThreshold:
		return "greater than"
	case LessThanThreshold:
		return "less than"
	}
	return "less than or equal to"
}
