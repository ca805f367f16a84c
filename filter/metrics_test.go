package filter

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trailkit/trail"
)

// at returns an API call stamped with time.Now() (the fake clock in a bubble).
func at(ev *trail.Event) *trail.Event {
	ev.EventTime = time.Now().UTC().Truncate(time.Second)
	return ev
}

func TestMetricFilterValues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var exported []Datum
		m, err := NewMetrics(MetricsConfig{
			Filters: []MetricFilter{
				UnauthorizedAPICalls.MetricFilter(),
				{Name: "errors-by-name", Pattern: `{ $.errorCode = * }`, MetricNamespace: "App", MetricName: "Errors",
					Dimensions: map[string]string{"EventName": "$.eventName"}},
				{Name: "bytes", Pattern: `{ $.additionalEventData.bytes = * }`, MetricNamespace: "App", MetricName: "Bytes",
					MetricValue: "$.additionalEventData.bytes", Unit: "Bytes"},
				{Name: "logins", Pattern: `{ $.eventName = ConsoleLogin }`, MetricNamespace: "App", MetricName: "Logins",
					DefaultValue: Float(0)},
			},
			Export: func(d []Datum) { mu.Lock(); exported = append(exported, d...); mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		start := time.Now().UTC().Truncate(time.Minute)
		denied := func() *trail.Event {
			return at(failed(apiCall("s3.amazonaws.com", "GetObject"), "AccessDenied", "Access Denied"))
		}
		withBytes := func(n string) *trail.Event {
			ev := at(apiCall("s3.amazonaws.com", "PutObject"))
			ev.AdditionalEventData = json.RawMessage(`{"bytes":` + n + `}`)
			return ev
		}
		m.ObserveEvent(denied())
		m.ObserveEvent(denied())
		m.ObserveEvent(at(failed(apiCall("ec2.amazonaws.com", "RunInstances"), "Client.UnauthorizedOperation", "no")))
		m.ObserveEvent(withBytes("100"))
		m.ObserveEvent(withBytes(`"50"`))
		m.ObserveEvent(withBytes(`"lots"`)) // not a number: adds nothing
		time.Sleep(time.Minute)
		m.ObserveEvent(at(apiCall("iam.amazonaws.com", "ListUsers"))) // no match: default value 0 for Logins
		time.Sleep(time.Minute)
		synctest.Wait()

		un := m.Values(Query{Namespace: MetricNamespace, Name: "UnauthorizedAPICalls"})
		if len(un) != 1 || un[0].Sum != 3 || un[0].SampleCount != 3 || !un[0].Timestamp.Equal(start) || un[0].Period != time.Minute {
			t.Errorf("UnauthorizedAPICalls = %+v", un)
		}
		byName := m.Values(Query{Namespace: "App", Name: "Errors", Dimensions: map[string]string{"EventName": "GetObject"}})
		if len(byName) != 1 || byName[0].Sum != 2 || byName[0].Dimensions[0] != (Dimension{"EventName", "GetObject"}) {
			t.Errorf("Errors{GetObject} = %+v", byName)
		}
		if v := m.Values(Query{Namespace: "App", Name: "Errors"}); len(v) != 0 {
			t.Errorf("Errors without dimensions = %+v", v)
		}
		b := m.Values(Query{Namespace: "App", Name: "Bytes"})
		if len(b) != 1 || b[0].Sum != 150 || b[0].Minimum != 50 || b[0].Maximum != 100 || b[0].Average() != 75 || b[0].Unit != "Bytes" {
			t.Errorf("Bytes = %+v", b)
		}
		lg := m.Values(Query{Namespace: "App", Name: "Logins"})
		if len(lg) != 2 || lg[0].Sum != 0 || lg[0].SampleCount != 6 || lg[1].SampleCount != 1 {
			t.Errorf("Logins = %+v", lg)
		}
		if v := m.Values(Query{Namespace: "App", Name: "Logins", From: start.Add(time.Minute)}); len(v) != 1 {
			t.Errorf("Logins from the second minute = %+v", v)
		}
		if got := len(m.Series()); got != 5 {
			t.Errorf("%d series, want 5: %+v", got, m.Series())
		}
		mu.Lock()
		defer mu.Unlock()
		var sum float64
		for _, d := range exported {
			if d.Name == "UnauthorizedAPICalls" {
				sum += d.Sum
			}
		}
		if sum != 3 || len(exported) != 6 {
			t.Errorf("exported %d datums (UnauthorizedAPICalls sum %v): %+v", len(exported), sum, exported)
		}
	})
}

func TestMetricFilterErrors(t *testing.T) {
	cases := []struct {
		name string
		f    MetricFilter
		a    Alarm
	}{
		{name: "no name", f: MetricFilter{Pattern: "x"}},
		{name: "bad pattern", f: MetricFilter{Pattern: "{", MetricNamespace: "n", MetricName: "m"}},
		{name: "bad value", f: MetricFilter{Pattern: "x", MetricNamespace: "n", MetricName: "m", MetricValue: "one"}},
		{name: "bad value selector", f: MetricFilter{Pattern: "x", MetricNamespace: "n", MetricName: "m", MetricValue: "$.a b"}},
		{name: "default with dimensions", f: MetricFilter{Pattern: "x", MetricNamespace: "n", MetricName: "m", DefaultValue: Float(0), Dimensions: map[string]string{"a": "$.a"}}},
		{name: "four dimensions", f: MetricFilter{Pattern: "x", MetricNamespace: "n", MetricName: "m", Dimensions: map[string]string{"a": "$.a", "b": "$.b", "c": "$.c", "d": "$.d"}}},
		{name: "bad dimension", f: MetricFilter{Pattern: "x", MetricNamespace: "n", MetricName: "m", Dimensions: map[string]string{"a": "a"}}},
		{name: "alarm period", a: Alarm{Name: "a", MetricNamespace: "n", MetricName: "m", Period: 90 * time.Second}},
		{name: "alarm datapoints", a: Alarm{Name: "a", MetricNamespace: "n", MetricName: "m", EvaluationPeriods: 2, DatapointsToAlarm: 3}},
		{name: "alarm comparison", a: Alarm{Name: "a", MetricNamespace: "n", MetricName: "m", Comparison: "Bigger"}},
		{name: "alarm statistic", a: Alarm{Name: "a", MetricNamespace: "n", MetricName: "m", Statistic: "p99"}},
		{name: "alarm missing", a: Alarm{Name: "a", MetricNamespace: "n", MetricName: "m", TreatMissingData: "maybe"}},
		{name: "alarm no name", a: Alarm{MetricNamespace: "n", MetricName: "m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := MetricsConfig{}
			if tc.a.MetricName == "" {
				cfg.Filters = []MetricFilter{tc.f}
			}
			if tc.a.MetricName != "" {
				cfg.Alarms = []Alarm{tc.a}
			}
			m, err := NewMetrics(cfg)
			if err == nil {
				m.Close()
				t.Fatal("NewMetrics succeeded")
			}
			if !errors.Is(err, ErrInvalidMetricFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidMetricFilter", err)
			}
		})
	}
}

type change struct {
	From, To AlarmState
	At       time.Duration // since the test's start minute
}

func TestAlarmTransitions(t *testing.T) {
	type step struct {
		events   int // unauthorized calls in this minute
		ordinary int
	}
	cases := []struct {
		name  string
		alarm Alarm
		steps []step
		want  []change
	}{
		{
			name:  "three within a minute, missing as not breaching",
			alarm: Alarm{Threshold: 3, TreatMissingData: MissingNotBreaching},
			steps: []step{{events: 2}, {events: 3}, {}, {events: 4}},
			want: []change{{StateInsufficientData, StateOK, 1 * time.Minute}, {StateOK, StateAlarm, 2 * time.Minute},
				{StateAlarm, StateOK, 3 * time.Minute}, {StateOK, StateAlarm, 4 * time.Minute}},
		},
		{
			name:  "missing data goes to INSUFFICIENT_DATA",
			alarm: Alarm{Threshold: 1},
			steps: []step{{events: 1}, {}, {ordinary: 1}},
			want:  []change{{StateInsufficientData, StateAlarm, 1 * time.Minute}, {StateAlarm, StateInsufficientData, 2 * time.Minute}},
		},
		{
			name:  "missing as breaching",
			alarm: Alarm{Threshold: 1, TreatMissingData: MissingBreaching},
			steps: []step{{}, {events: 0, ordinary: 1}},
			want:  []change{{StateInsufficientData, StateAlarm, 1 * time.Minute}},
		},
		{
			name:  "ignore keeps the state",
			alarm: Alarm{Threshold: 1, TreatMissingData: MissingIgnore},
			steps: []step{{events: 1}, {}, {}},
			want:  []change{{StateInsufficientData, StateAlarm, 1 * time.Minute}},
		},
		{
			name:  "2 of 3 datapoints",
			alarm: Alarm{Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: MissingNotBreaching},
			steps: []step{{events: 1}, {}, {events: 1}, {}, {}},
			want: []change{{StateInsufficientData, StateOK, 1 * time.Minute}, {StateOK, StateAlarm, 3 * time.Minute},
				{StateAlarm, StateOK, 4 * time.Minute}},
		},
		{
			name:  "five-minute period (CIS)",
			alarm: UnauthorizedAPICalls.Alarm(),
			steps: []step{{}, {}, {events: 1}, {}, {}, {}, {}, {}, {}, {}, {}},
			// evaluated at the 5-minute marks of the clock only
		},
		{
			name:  "less than threshold on SampleCount",
			alarm: Alarm{Threshold: 2, Comparison: LessThanThreshold, Statistic: StatSampleCount, TreatMissingData: MissingBreaching},
			steps: []step{{events: 3}, {events: 1}},
			want:  []change{{StateInsufficientData, StateOK, 1 * time.Minute}, {StateOK, StateAlarm, 2 * time.Minute}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// start on a minute boundary that is also a 5-minute boundary
				now := time.Now()
				time.Sleep(time.Unix(0, (now.UnixNano()/int64(5*time.Minute)+1)*int64(5*time.Minute)).Sub(now))
				start := time.Now()
				a := tc.alarm
				a.Name = "test"
				a.MetricNamespace, a.MetricName = MetricNamespace, UnauthorizedAPICalls.MetricName
				var got []change
				m, err := NewMetrics(MetricsConfig{
					Filters: []MetricFilter{UnauthorizedAPICalls.MetricFilter()},
					Alarms:  []Alarm{a},
					OnAlarm: func(c AlarmChange) { got = append(got, change{c.Previous, c.State, c.Time.Sub(start)}) },
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range tc.steps {
					for range s.events {
						m.ObserveEvent(at(failed(apiCall("s3.amazonaws.com", "GetObject"), "AccessDenied", "Access Denied")))
					}
					for range s.ordinary {
						m.ObserveEvent(at(apiCall("s3.amazonaws.com", "GetObject")))
					}
					time.Sleep(time.Minute)
					synctest.Wait()
				}
				m.Close()
				want := tc.want
				if tc.name == "five-minute period (CIS)" {
					// the first 5-minute evaluation (minute 5) sees the call at minute 2: ALARM directly
					want = []change{{StateInsufficientData, StateAlarm, 5 * time.Minute}, {StateAlarm, StateOK, 10 * time.Minute}}
				}
				if !slices.Equal(got, want) {
					t.Errorf("changes %+v, want %+v", got, want)
				}
				if st := m.AlarmState("test"); len(want) > 0 && st != want[len(want)-1].To {
					t.Errorf("AlarmState = %s", st)
				}
			})
		})
	}
}

func TestAlarmChangeDetails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []AlarmChange
		a := UnauthorizedAPICalls.Alarm()
		a.Period, a.Threshold = time.Minute, 3
		a.OnChange = func(c AlarmChange) { got = append(got, c) }
		m, err := NewMetrics(MetricsConfig{Filters: []MetricFilter{UnauthorizedAPICalls.MetricFilter()}, Alarms: []Alarm{a}})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		for range 3 {
			m.ObserveEvent(at(failed(apiCall("s3.amazonaws.com", "GetObject"), "AccessDenied", "Access Denied")))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(got) != 1 || got[0].State != StateAlarm || got[0].Alarm != a.Name || len(got[0].Datapoints) != 1 || got[0].Datapoints[0] != 3 ||
			got[0].Reason != "Threshold Crossed: 1 out of the last 1 datapoints were greater than or equal to the threshold (3)." {
			t.Fatalf("changes = %+v", got)
		}
		if m.AlarmState("nope") != "" {
			t.Error("unknown alarm has a state")
		}
		if !math.IsNaN((Stats{}).Average()) {
			t.Error("Average of nothing is a number")
		}
	})
}

// TestMetricsNameIndex: filters that can only match some eventNames are
// skipped for other events, with the same results as evaluating every
// filter.
func TestMetricsNameIndex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mfs []MetricFilter
		for _, p := range CIS() {
			mfs = append(mfs, p.MetricFilter())
		}
		mfs = append(mfs, MetricFilter{Name: "odd", Pattern: `{ $.eventName = Odd || $.errorCode = X }`, MetricNamespace: "T", MetricName: "Odd"})
		m, err := NewMetrics(MetricsConfig{Filters: mfs})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if len(m.always) != 3 {
			t.Errorf("%d filters evaluated for every event, want 3 (root usage, unauthorized calls, odd)", len(m.always))
		}
		want := map[string]float64{}
		for id, evs := range cisTargets() {
			for _, ev := range evs {
				ev = at(ev)
				m.ObserveEvent(ev)
				for _, p := range CIS() {
					if MustCompile(p.Pattern).MatchEvent(ev) {
						want[p.MetricName]++
					}
				}
			}
			_ = id
		}
		for _, ev := range ordinary() {
			m.ObserveEvent(at(ev))
		}
		odd := at(apiCall("x.example.com", "Even"))
		odd.ErrorCode = "X"
		m.ObserveEvent(odd)
		for _, p := range CIS() {
			var got float64
			for _, d := range m.Values(Query{Namespace: MetricNamespace, Name: p.MetricName}) {
				got += d.Sum
			}
			if got != want[p.MetricName] {
				t.Errorf("%s = %v, want %v", p.MetricName, got, want[p.MetricName])
			}
		}
		if v := m.Values(Query{Namespace: "T", Name: "Odd"}); len(v) != 1 || v[0].Sum != 1 {
			t.Errorf("Odd = %+v", v)
		}
	})
}
