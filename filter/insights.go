package filter

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailkit/trail"
)

// The insight types (CloudTrail's insightType values).
const (
	ApiCallRateInsight  = "ApiCallRateInsight"
	ApiErrorRateInsight = "ApiErrorRateInsight"
)

// Insight is one event of an unusual-activity episode, CloudTrail Insights
// style: a Start when an API's per-minute rate of write calls
// (ApiCallRateInsight) or of calls that failed (ApiErrorRateInsight) rises
// well above its baseline, and an End when it falls back. The two share
// SharedEventID.
type Insight struct {
	Type        string // ApiCallRateInsight or ApiErrorRateInsight
	State       string // "Start" or "End"
	EventSource string
	EventName   string
	// Time is when the state began: the start of the first unusual minute
	// (Start) or the end of the last one (End).
	Time time.Time
	// Baseline is the average number of calls per minute over the baseline
	// window before the episode; Average is the rate in the episode's first
	// minute (Start) or over the whole episode (End).
	Baseline, Average float64
	// Duration is the episode's length in minutes so far; BaselineDuration
	// is the baseline window in minutes.
	Duration, BaselineDuration int
	// SharedEventID links the Start and End of one episode.
	SharedEventID string
	// Attributions rank the callers (userIdentityArn), user agents and error
	// codes during the episode ("null" for no error), up to 5 each, highest
	// average first.
	Attributions []Attribution
}

// Attribution ranks the values of one attribute during an episode.
type Attribution struct {
	Attribute string // userIdentityArn, userAgent or errorCode
	Insight   []AttributionValue
}

// AttributionValue is one value of an attribute and its per-minute average.
type AttributionValue struct {
	Value   string
	Average float64
}

// DetectorConfig configures a Detector.
type DetectorConfig struct {
	// Baseline is the window the baseline averages over (default 7 days, as
	// CloudTrail Insights).
	Baseline time.Duration
	// Warmup is how long a detector observes before it may report anything
	// (default 36 hours, CloudTrail's "up to 36 hours" before the first
	// insights).
	Warmup time.Duration
	// Multiplier and MinRate define unusual: a minute's count is unusual when
	// it is at least MinRate (default 10) and more than Multiplier (default
	// 5) times the baseline average.
	Multiplier, MinRate float64
	// OnInsight, when set, receives every Start and End, from the detector's
	// goroutine.
	OnInsight func(Insight)
}

// EventRecorder is what a Detector emits Insights events to
// (*trail.Recorder).
type EventRecorder interface {
	Record(ctx context.Context, ev *trail.Event) error
}

// Detector watches API call rates and API error rates per eventName against
// a rolling baseline and reports unusual activity as Insight values and, when
// EmitTo names a recorder, as Insights events recorded there (trails that
// enable Insights deliver them). Attach it as an observer
// (trail.Config.Observers). It owns one goroutine that evaluates each
// minute; Close stops it.
type Detector struct {
	cfg     DetectorConfig
	bucket  time.Duration // baseline bucket length
	started time.Time     // baselines and warm-up count from here

	mu      sync.Mutex
	streams map[streamKey]*stream

	target atomic.Pointer[EventRecorder]

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type streamKey struct {
	typ, source, name string
}

type stream struct {
	first   time.Time         // when the detector first saw the API (idle streams are dropped a window later)
	buckets map[int64]float64 // baseline bucket index -> calls
	cur     float64           // calls in the current minute
	attrs   [3]map[string]float64
	// the running episode
	active     bool
	startAt    time.Time
	sum        float64
	minutes    int
	baseline   float64
	shared     string
	epiAttrs   [3]map[string]float64
	lastActive time.Time
}

var attrNames = [3]string{"userIdentityArn", "userAgent", "errorCode"}

// NewDetector starts a detector.
func NewDetector(cfg DetectorConfig) (*Detector, error) {
	if cfg.Baseline == 0 {
		cfg.Baseline = 7 * 24 * time.Hour
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 36 * time.Hour
	}
	if cfg.Multiplier == 0 {
		cfg.Multiplier = 5
	}
	if cfg.MinRate == 0 {
		cfg.MinRate = 10
	}
	if cfg.Baseline < time.Minute || cfg.Warmup < 0 || cfg.Multiplier < 1 || cfg.MinRate < 0 {
		return nil, errors.New("filter: DetectorConfig: need Baseline >= 1m, Warmup >= 0, Multiplier >= 1, MinRate >= 0")
	}
	d := &Detector{cfg: cfg, started: time.Now(), streams: map[streamKey]*stream{}, stop: make(chan struct{}), done: make(chan struct{})}
	d.bucket = (cfg.Baseline / 168).Truncate(time.Minute)
	if d.bucket < time.Minute {
		d.bucket = time.Minute
	}
	go d.run()
	return d, nil
}

// EmitTo makes the detector record each Insight as a CloudTrail Insights
// event in r (nil stops that).
func (d *Detector) EmitTo(r EventRecorder) {
	if r == nil {
		d.target.Store(nil)
		return
	}
	d.target.Store(&r)
}

// ObserveEvent counts a management API call: every write call for
// ApiCallRateInsight, every call that failed for ApiErrorRateInsight.
// Insights events themselves are not counted.
func (d *Detector) ObserveEvent(ev *trail.Event) {
	if ev == nil || ev.EventCategory != "" && ev.EventCategory != trail.CategoryManagement || ev.EventName == "" {
		return
	}
	write := !ev.IsReadOnly()
	failed := ev.ErrorCode != ""
	if !write && !failed {
		return
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if write {
		d.count(streamKey{ApiCallRateInsight, ev.EventSource, ev.EventName}, ev, now)
	}
	if failed {
		d.count(streamKey{ApiErrorRateInsight, ev.EventSource, ev.EventName}, ev, now)
	}
}

func (d *Detector) count(k streamKey, ev *trail.Event, now time.Time) {
	s := d.streams[k]
	if s == nil {
		s = &stream{first: now, buckets: map[int64]float64{}}
		for i := range s.attrs {
			s.attrs[i] = map[string]float64{}
		}
		d.streams[k] = s
	}
	s.cur++
	code := ev.ErrorCode
	if code == "" {
		code = "null"
	}
	vals := [3]string{ev.UserIdentity.ARN, ev.UserAgent, code}
	for i, v := range vals {
		if v != "" && (len(s.attrs[i]) < 64 || s.attrs[i][v] > 0) {
			s.attrs[i][v]++
		}
	}
}

// Close stops the detector's goroutine. Episodes still running get no End.
func (d *Detector) Close() error {
	d.stopOnce.Do(func() { close(d.stop) })
	<-d.done
	return nil
}

func (d *Detector) run() {
	defer close(d.done)
	for {
		now := time.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-d.stop:
			t.Stop()
			return
		case <-t.C:
		}
		for _, in := range d.evaluate(next) {
			if d.cfg.OnInsight != nil {
				d.cfg.OnInsight(in)
			}
			if r := d.target.Load(); r != nil {
				_ = (*r).Record(context.Background(), in.Event())
			}
		}
	}
}

// evaluate closes the minute ending at end.
func (d *Detector) evaluate(end time.Time) []Insight {
	minuteStart := end.Add(-time.Minute)
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Insight
	oldest := end.Add(-d.cfg.Baseline)
	for k, s := range d.streams {
		// baseline: calls per minute over the window before this minute
		var sum float64
		for idx, n := range s.buckets {
			if time.Unix(0, (idx+1)*int64(d.bucket)).Before(oldest) {
				delete(s.buckets, idx)
				continue
			}
			sum += n
		}
		span := minuteStart.Sub(d.started)
		if span > d.cfg.Baseline {
			span = d.cfg.Baseline
		}
		minutes := span.Minutes()
		if minutes < 1 {
			minutes = 1
		}
		baseline := sum / minutes
		warm := minuteStart.Sub(d.started) >= d.cfg.Warmup
		unusual := warm && s.cur >= d.cfg.MinRate && s.cur > d.cfg.Multiplier*baseline
		switch {
		case unusual && !s.active:
			s.active, s.startAt, s.sum, s.minutes, s.baseline = true, minuteStart, s.cur, 1, baseline
			s.shared = newUUID()
			for i := range s.epiAttrs {
				s.epiAttrs[i] = copyCounts(s.attrs[i])
			}
			out = append(out, d.insight(k, s, "Start", minuteStart, s.cur))
		case unusual:
			s.sum += s.cur
			s.minutes++
			for i := range s.epiAttrs {
				for v, n := range s.attrs[i] {
					s.epiAttrs[i][v] += n
				}
			}
		case s.active:
			s.active = false
			out = append(out, d.insight(k, s, "End", minuteStart, s.sum/float64(s.minutes)))
		}
		if s.cur > 0 {
			s.buckets[minuteStart.UnixNano()/int64(d.bucket)] += s.cur
		}
		s.cur = 0
		for i := range s.attrs {
			clear(s.attrs[i])
		}
		if !s.active && len(s.buckets) == 0 && minuteStart.Sub(s.first) > d.cfg.Baseline {
			delete(d.streams, k) // idle for a whole window
		}
	}
	slices.SortFunc(out, func(a, b Insight) int {
		return cmp.Or(cmp.Compare(a.EventSource, b.EventSource), cmp.Compare(a.EventName, b.EventName), cmp.Compare(a.Type, b.Type))
	})
	return out
}

func (d *Detector) insight(k streamKey, s *stream, state string, at time.Time, avg float64) Insight {
	in := Insight{Type: k.typ, State: state, EventSource: k.source, EventName: k.name, Time: at.UTC(),
		Baseline: s.baseline, Average: avg, Duration: s.minutes,
		BaselineDuration: int(d.cfg.Baseline / time.Minute), SharedEventID: s.shared}
	for i, name := range attrNames {
		var vals []AttributionValue
		for v, n := range s.epiAttrs[i] {
			vals = append(vals, AttributionValue{Value: v, Average: n / float64(s.minutes)})
		}
		slices.SortFunc(vals, func(a, b AttributionValue) int {
			return cmp.Or(cmp.Compare(b.Average, a.Average), cmp.Compare(a.Value, b.Value))
		})
		if len(vals) > 5 {
			vals = vals[:5]
		}
		if len(vals) > 0 {
			in.Attributions = append(in.Attributions, Attribution{Attribute: name, Insight: vals})
		}
	}
	return in
}

func copyCounts(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
