package filter

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/trailkit/trail/sink/memsink"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trailkit/trail"
)

func runDetector(t *testing.T, perMinute func(minute int) (writes, errors int), minutes int) []Insight {
	t.Helper()
	var mu sync.Mutex
	var got []Insight
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)))
		d, err := NewDetector(DetectorConfig{Baseline: 2 * time.Hour, Warmup: 30 * time.Minute,
			OnInsight: func(in Insight) { mu.Lock(); got = append(got, in); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		for m := range minutes {
			w, e := perMinute(m)
			for i := range w {
				ev := apiCall("ec2.amazonaws.com", "RunInstances")
				if i%2 == 1 {
					ev.UserAgent = "terraform/1.9"
				}
				d.ObserveEvent(ev)
			}
			for range e {
				ev := failed(apiCall("ec2.amazonaws.com", "DescribeInstances"), "Client.UnauthorizedOperation", "no")
				ev.ReadOnly = trail.Bool(true) // a read: counts for the error rate only
				d.ObserveEvent(ev)
			}
			d.ObserveEvent(&trail.Event{EventName: "ListThings", ReadOnly: trail.Bool(true)}) // reads are no call-rate signal
			time.Sleep(time.Minute)
			synctest.Wait()
		}
	})
	return got
}

func TestInsightsSteadyTrafficNone(t *testing.T) {
	got := runDetector(t, func(m int) (int, int) { return 20 + m%3, 1 }, 120)
	if len(got) != 0 {
		t.Fatalf("steady traffic produced %d insights: %+v", len(got), got)
	}
}

func TestInsightsSpike(t *testing.T) {
	// 2 writes a minute, then 60 a minute for minutes 60..64; errors spike at 90..91
	got := runDetector(t, func(m int) (int, int) {
		w, e := 2, 0
		if m >= 60 && m < 65 {
			w = 60
		}
		if m >= 90 && m < 92 {
			e = 30
		}
		return w, e
	}, 100)
	if len(got) != 4 {
		t.Fatalf("got %d insights, want Start+End for the call rate and the error rate: %+v", len(got), got)
	}
	start, end := got[0], got[1]
	if start.Type != ApiCallRateInsight || start.State != "Start" || end.State != "End" || start.EventName != "RunInstances" ||
		start.EventSource != "ec2.amazonaws.com" || start.SharedEventID == "" || start.SharedEventID != end.SharedEventID {
		t.Fatalf("call-rate episode = %+v / %+v", start, end)
	}
	if start.Average != 60 || end.Average != 60 || end.Duration != 5 || start.Baseline < 1.9 || start.Baseline > 2.1 || start.BaselineDuration != 120 {
		t.Errorf("statistics: start avg %v baseline %v, end avg %v duration %d", start.Average, start.Baseline, end.Average, end.Duration)
	}
	if !end.Time.Equal(start.Time.Add(5 * time.Minute)) {
		t.Errorf("episode %v .. %v", start.Time, end.Time)
	}
	if len(end.Attributions) != 3 || end.Attributions[1].Attribute != "userAgent" || len(end.Attributions[1].Insight) != 2 ||
		end.Attributions[2].Insight[0].Value != "null" {
		t.Errorf("attributions = %+v", end.Attributions)
	}
	es, ee := got[2], got[3]
	if es.Type != ApiErrorRateInsight || es.EventName != "DescribeInstances" || es.State != "Start" || ee.State != "End" || ee.Duration != 2 {
		t.Errorf("error-rate episode = %+v / %+v", es, ee)
	}
	if a := es.Attributions[2].Insight[0]; a.Value != "Client.UnauthorizedOperation" || a.Average != 30 {
		t.Errorf("error attribution = %+v", a)
	}
}

func TestInsightsWarmup(t *testing.T) {
	// a spike before Warmup has passed is not reported
	got := runDetector(t, func(m int) (int, int) {
		if m == 5 {
			return 100, 0
		}
		return 1, 0
	}, 20)
	if len(got) != 0 {
		t.Fatalf("insights during warm-up: %+v", got)
	}
}

// TestInsightsEventsDelivered: a detector attached to a recorder emits the
// spike's Start and End as Insights events, which a trail with Insights
// enabled delivers under CloudTrail-Insight/, and steady traffic none.
func TestInsightsEventsDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)))
		d, err := NewDetector(DetectorConfig{Baseline: time.Hour, Warmup: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		sink := memsink.New()
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
			Observers: []trail.EventObserver{d},
			Trails: []trail.Trail{{Name: "insights", Sinks: []trail.Sink{sink}, Interval: time.Minute,
				InsightSelectors: []trail.InsightSelector{{InsightType: ApiCallRateInsight}, {InsightType: ApiErrorRateInsight}}}}})
		if err != nil {
			t.Fatal(err)
		}
		d.EmitTo(rec)
		ctx := context.Background()
		for m := range 40 {
			n := 2
			if m >= 30 && m < 33 {
				n = 50
			}
			for range n {
				if err := rec.Record(ctx, &trail.Event{EventSource: "ec2.amazonaws.com", EventName: "RunInstances", ReadOnly: trail.Bool(false),
					UserIdentity: iamUser()}); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		d.Close()
		if err := rec.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var insights []trail.Event
		for _, f := range sink.Files() {
			if !strings.Contains(f.Key, "/CloudTrail-Insight/") {
				continue
			}
			evs, err := trail.DecodeLogFile(bytes.NewReader(f.Body))
			if err != nil {
				t.Fatal(err)
			}
			insights = append(insights, evs...)
		}
		if len(insights) != 2 {
			t.Fatalf("%d Insights events delivered, want Start and End", len(insights))
		}
		slices.SortFunc(insights, func(a, b trail.Event) int { return a.EventTime.Compare(b.EventTime) })
		s, e := insights[0], insights[1]
		if s.InsightDetails == nil || s.InsightDetails.State != "Start" || e.InsightDetails.State != "End" ||
			s.SharedEventID != e.SharedEventID || s.EventType != trail.EventTypeInsight || s.EventCategory != trail.CategoryInsight ||
			s.InsightDetails.EventName != "RunInstances" || s.EventName != "" {
			t.Fatalf("insights = %+v %+v", s, e)
		}
		var ctxv struct {
			Statistics struct {
				Baseline        struct{ Average float64 }
				Insight         struct{ Average float64 }
				InsightDuration int
			}
			Attributions []struct{ Attribute string }
		}
		if err := json.Unmarshal(e.InsightDetails.InsightContext, &ctxv); err != nil {
			t.Fatal(err)
		}
		if ctxv.Statistics.Insight.Average != 50 || ctxv.Statistics.InsightDuration != 3 || ctxv.Statistics.Baseline.Average != 2 ||
			len(ctxv.Attributions) != 2 { // userIdentityArn and errorCode (these calls have no userAgent)
			t.Errorf("insightContext = %s", e.InsightDetails.InsightContext)
		}
	})
}
