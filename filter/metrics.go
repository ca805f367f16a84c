package filter

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trailkit/trail"
)

// ErrInvalidMetricFilter is wrapped by every error NewMetrics returns for a
// bad MetricFilter or Alarm.
var ErrInvalidMetricFilter = errors.New("filter: invalid metric filter")

// MetricFilter turns matching events into metric datapoints, as a
// CloudWatch Logs metric filter does.
type MetricFilter struct {
	// Name identifies the filter (it appears in errors).
	Name string
	// Pattern is the filter pattern; see Compile.
	Pattern string
	// MetricNamespace and MetricName name the metric. Both are required.
	MetricNamespace, MetricName string
	// MetricValue is what a match adds: a number ("1" when empty), or a JSON
	// selector ("$.latency") whose value must be a number (or a string that
	// holds one); a match whose selector selects anything else adds nothing.
	// (CloudWatch's $fieldName values of space-delimited patterns are not
	// supported: metric filters here read events, whose fields are JSON.)
	MetricValue string
	// DefaultValue, when set, is added for every event that does not match,
	// so that a period with events but no matches reports a value (as
	// CloudWatch Logs does). It cannot be combined with Dimensions.
	DefaultValue *float64
	// Dimensions name up to 3 dimensions and the JSON selector each takes
	// its value from ("$.eventName"). A match whose selectors do not all
	// select a string or a number adds nothing.
	Dimensions map[string]string
	// Unit is carried to the exported datums ("Count", "Milliseconds", …).
	Unit string
}

// Float returns a pointer to v, for MetricFilter.DefaultValue.
func Float(v float64) *float64 { return &v }

// Dimension is one dimension of a metric.
type Dimension struct {
	Name, Value string
}

// Stats aggregates the values of one metric in one period.
type Stats struct {
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
}

// Average returns Sum / SampleCount (NaN without samples).
func (s Stats) Average() float64 {
	if s.SampleCount == 0 {
		return math.NaN()
	}
	return s.Sum / s.SampleCount
}

func (s *Stats) add(v float64) {
	if s.SampleCount == 0 || v < s.Minimum {
		s.Minimum = v
	}
	if s.SampleCount == 0 || v > s.Maximum {
		s.Maximum = v
	}
	s.SampleCount++
	s.Sum += v
}

func (s *Stats) merge(o Stats) {
	if o.SampleCount == 0 {
		return
	}
	if s.SampleCount == 0 || o.Minimum < s.Minimum {
		s.Minimum = o.Minimum
	}
	if s.SampleCount == 0 || o.Maximum > s.Maximum {
		s.Maximum = o.Maximum
	}
	s.SampleCount += o.SampleCount
	s.Sum += o.Sum
}

// Datum is the aggregate of one metric (namespace, name, dimensions) over one
// period, the unit CloudWatch's PutMetricData takes as a statistic set.
type Datum struct {
	Namespace  string
	Name       string
	Dimensions []Dimension // sorted by name
	Unit       string
	Timestamp  time.Time // start of the period (UTC)
	Period     time.Duration
	Stats
}

// MetricsConfig configures a Metrics.
type MetricsConfig struct {
	// Filters are the metric filters applied to every observed event.
	Filters []MetricFilter
	// Alarms watch the filters' metrics.
	Alarms []Alarm
	// Period is the aggregation period, aligned to the UTC clock (default
	// one minute, as CloudWatch Logs aggregates metric filters).
	Period time.Duration
	// Retention is how long the in-process view keeps periods (default 24
	// hours).
	Retention time.Duration
	// Export, when set, receives the datums of every period that has ended
	// (and, on Close, of every period not yet exported), from the Metrics
	// goroutine; a datum for a period that was exported before carries only
	// what arrived late. It must not block for long.
	Export func([]Datum)
	// OnAlarm, when set, is called on every alarm state change (after the
	// alarm's own OnChange).
	OnAlarm func(AlarmChange)
}

// Metrics applies metric filters to events as a recorder accepts them,
// keeps the values per period in memory, exports closed periods and
// evaluates alarms. It owns one goroutine, stopped by Close. Attach it to a
// recorder or a trail with trail.Config.Observers / trail.Trail.Observers;
// ObserveEvent never blocks on anything but a short mutex.
type Metrics struct {
	period    time.Duration
	retention time.Duration
	export    func([]Datum)
	onAlarm   func(AlarmChange)
	filters   []compiledFilter
	alarms    []*alarmState
	always    []int            // filters to evaluate on every event
	byName    map[string][]int // filters that can only match these eventNames

	mu      sync.Mutex
	series  map[string]*series
	pending map[*series]map[int64]*Stats

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type compiledFilter struct {
	MetricFilter
	pat      *Pattern
	constant float64
	value    *valueSelector
	dims     []dimSelector
	plain    *series // the series of a filter without dimensions
}

type dimSelector struct {
	name string
	sel  *valueSelector
}

type series struct {
	key       string
	namespace string
	name      string
	dims      []Dimension
	unit      string
	points    map[int64]*Stats // period index -> stats
}

// NewMetrics compiles the filters and alarms and starts the goroutine that
// closes periods and evaluates alarms.
func NewMetrics(cfg MetricsConfig) (*Metrics, error) {
	m := &Metrics{
		period: cfg.Period, retention: cfg.Retention, export: cfg.Export, onAlarm: cfg.OnAlarm,
		series: map[string]*series{}, pending: map[*series]map[int64]*Stats{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if m.period == 0 {
		m.period = time.Minute
	}
	if m.period < time.Second || m.period%time.Second != 0 {
		return nil, fmt.Errorf("%w: Period %v is not a whole number of seconds", ErrInvalidMetricFilter, m.period)
	}
	if m.retention == 0 {
		m.retention = 24 * time.Hour
	}
	for i := range cfg.Filters {
		cf, err := compileFilter(cfg.Filters[i])
		if err != nil {
			return nil, err
		}
		if len(cf.dims) == 0 {
			cf.plain = m.seriesFor(cf.MetricNamespace, cf.MetricName, nil, cf.Unit)
		}
		m.filters = append(m.filters, cf)
	}
	m.byName = map[string][]int{}
	for i := range m.filters {
		f := &m.filters[i]
		names, ok := []string(nil), false
		if f.pat.kind == KindJSON && f.DefaultValue == nil {
			names, ok = f.pat.expr.requiredNames()
		}
		if !ok {
			m.always = append(m.always, i)
			continue
		}
		for _, n := range names {
			if l := m.byName[n]; len(l) == 0 || l[len(l)-1] != i {
				m.byName[n] = append(l, i)
			}
		}
	}
	for i := range cfg.Alarms {
		a, err := m.compileAlarm(cfg.Alarms[i])
		if err != nil {
			return nil, err
		}
		m.alarms = append(m.alarms, a)
	}
	go m.run()
	return m, nil
}

func compileFilter(f MetricFilter) (compiledFilter, error) {
	cf := compiledFilter{MetricFilter: f, constant: 1}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidMetricFilter, f.Name, fmt.Sprintf(format, args...))
	}
	if f.MetricNamespace == "" || f.MetricName == "" {
		return cf, bad("MetricNamespace and MetricName are required")
	}
	p, err := Compile(f.Pattern)
	if err != nil {
		return cf, fmt.Errorf("%w %q: %w", ErrInvalidMetricFilter, f.Name, err)
	}
	cf.pat = p
	switch v := strings.TrimSpace(f.MetricValue); {
	case v == "":
	case strings.HasPrefix(v, "$"):
		sel, err := compileSelector(v)
		if err != nil {
			return cf, fmt.Errorf("%w %q: MetricValue: %w", ErrInvalidMetricFilter, f.Name, err)
		}
		cf.value = sel
	default:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || !isNumber(v) {
			return cf, bad("MetricValue %q is neither a number nor a $.selector", f.MetricValue)
		}
		cf.constant = x
	}
	if len(f.Dimensions) > 3 {
		return cf, bad("at most 3 dimensions")
	}
	if len(f.Dimensions) > 0 && f.DefaultValue != nil {
		return cf, bad("DefaultValue cannot be combined with Dimensions")
	}
	for name, expr := range f.Dimensions {
		sel, err := compileSelector(expr)
		if err != nil {
			return cf, fmt.Errorf("%w %q: dimension %s: %w", ErrInvalidMetricFilter, f.Name, name, err)
		}
		cf.dims = append(cf.dims, dimSelector{name: name, sel: sel})
	}
	slices.SortFunc(cf.dims, func(a, b dimSelector) int { return strings.Compare(a.name, b.name) })
	return cf, nil
}

// valueSelector is a compiled $.selector.
type valueSelector struct {
	path []seg
	ids  []uint8
}

func compileSelector(s string) (*valueSelector, error) {
	ps := &parser{src: strings.TrimSpace(s)}
	if ps.peek() != '$' {
		return nil, ps.errAt(0, "expected a selector ($.name)")
	}
	path, err := ps.selector()
	if err != nil {
		return nil, err
	}
	if !ps.eof() {
		return nil, ps.errAt(ps.pos, "unexpected text after the selector")
	}
	return &valueSelector{path: path, ids: compileEventPath(path)}, nil
}

func (s *valueSelector) event(ev *trail.Event) value { return resolveEvent(ev, s.path, s.ids) }

// Number returns the selector's value in ev as a number.
func (s *valueSelector) number(ev *trail.Event) (float64, bool) {
	v := s.event(ev)
	if v.k != vNum && (v.k != vStr || !isNumber(v.s)) {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.s, 64)
	return f, err == nil
}

func seriesKey(namespace, name string, dims []Dimension) string {
	var b strings.Builder
	b.WriteString(namespace)
	b.WriteByte(0)
	b.WriteString(name)
	for _, d := range dims {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte(1)
		b.WriteString(d.Value)
	}
	return b.String()
}

// seriesFor returns (creating) the series; m.mu held or not yet shared.
func (m *Metrics) seriesFor(namespace, name string, dims []Dimension, unit string) *series {
	key := seriesKey(namespace, name, dims)
	s := m.series[key]
	if s == nil {
		s = &series{key: key, namespace: namespace, name: name, dims: dims, unit: unit, points: map[int64]*Stats{}}
		m.series[key] = s
	}
	return s
}

func (m *Metrics) periodIndex(t time.Time) int64 {
	n := t.UnixNano()
	p := int64(m.period)
	idx := n / p
	if n%p < 0 {
		idx--
	}
	return idx
}

// ObserveEvent applies every metric filter to the event (an accepted
// event, as the recorder hands it to its observers). The event's time picks
// the period.
func (m *Metrics) ObserveEvent(ev *trail.Event) {
	if ev == nil {
		return
	}
	t := ev.EventTime
	if t.IsZero() {
		t = time.Now()
	}
	idx := m.periodIndex(t)
	for _, i := range m.always {
		m.apply(&m.filters[i], ev, idx)
	}
	for _, i := range m.byName[ev.EventName] {
		m.apply(&m.filters[i], ev, idx)
	}
}

// apply evaluates one filter on ev and adds what it yields.
func (m *Metrics) apply(f *compiledFilter, ev *trail.Event, idx int64) {
	var dimBuf [3]Dimension
	if !f.pat.MatchEvent(ev) {
		if f.DefaultValue != nil {
			m.add(f.plain, idx, *f.DefaultValue)
		}
		return
	}
	v := f.constant
	if f.value != nil {
		x, ok := f.value.number(ev)
		if !ok {
			return
		}
		v = x
	}
	if f.plain != nil {
		m.add(f.plain, idx, v)
		return
	}
	dims := dimBuf[:0]
	ok := true
	for _, d := range f.dims {
		dv := d.sel.event(ev)
		if dv.k != vStr && dv.k != vNum {
			ok = false
			break
		}
		dims = append(dims, Dimension{Name: d.name, Value: dv.s})
	}
	if !ok {
		return
	}
	m.mu.Lock()
	key := seriesKey(f.MetricNamespace, f.MetricName, dims)
	s := m.series[key]
	if s == nil {
		s = m.seriesFor(f.MetricNamespace, f.MetricName, slices.Clone(dims), f.Unit)
	}
	m.addLocked(s, idx, v)
	m.mu.Unlock()
}

func (m *Metrics) add(s *series, idx int64, v float64) {
	m.mu.Lock()
	m.addLocked(s, idx, v)
	m.mu.Unlock()
}

func (m *Metrics) addLocked(s *series, idx int64, v float64) {
	st := s.points[idx]
	if st == nil {
		st = &Stats{}
		s.points[idx] = st
	}
	st.add(v)
	if m.export == nil {
		return
	}
	pm := m.pending[s]
	if pm == nil {
		pm = map[int64]*Stats{}
		m.pending[s] = pm
	}
	ps := pm[idx]
	if ps == nil {
		ps = &Stats{}
		pm[idx] = ps
	}
	ps.add(v)
}

// Query selects datums from the in-process view.
type Query struct {
	Namespace, Name string
	// Dimensions selects the series with exactly these dimensions (nil: the
	// series without dimensions).
	Dimensions map[string]string
	// From and To bound the periods' start times: From <= Timestamp < To.
	// Zero values leave that side open.
	From, To time.Time
}

// Values returns the metric's datums per period, oldest first.
func (m *Metrics) Values(q Query) []Datum {
	dims := make([]Dimension, 0, len(q.Dimensions))
	for k, v := range q.Dimensions {
		dims = append(dims, Dimension{Name: k, Value: v})
	}
	slices.SortFunc(dims, func(a, b Dimension) int { return strings.Compare(a.Name, b.Name) })
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.series[seriesKey(q.Namespace, q.Name, dims)]
	if s == nil {
		return nil
	}
	var out []Datum
	for idx, st := range s.points {
		ts := time.Unix(0, idx*int64(m.period)).UTC()
		if !q.From.IsZero() && ts.Before(q.From) || !q.To.IsZero() && !ts.Before(q.To) {
			continue
		}
		out = append(out, m.datum(s, idx, *st))
	}
	slices.SortFunc(out, func(a, b Datum) int { return a.Timestamp.Compare(b.Timestamp) })
	return out
}

// Series lists the metrics the view holds, as datums without statistics.
func (m *Metrics) Series() []Datum {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Datum, 0, len(m.series))
	for _, s := range m.series {
		out = append(out, Datum{Namespace: s.namespace, Name: s.name, Dimensions: slices.Clone(s.dims), Unit: s.unit, Period: m.period})
	}
	slices.SortFunc(out, func(a, b Datum) int {
		return strings.Compare(seriesKey(a.Namespace, a.Name, a.Dimensions), seriesKey(b.Namespace, b.Name, b.Dimensions))
	})
	return out
}

func (m *Metrics) datum(s *series, idx int64, st Stats) Datum {
	return Datum{Namespace: s.namespace, Name: s.name, Dimensions: slices.Clone(s.dims), Unit: s.unit,
		Timestamp: time.Unix(0, idx*int64(m.period)).UTC(), Period: m.period, Stats: st}
}

// Close stops the goroutine, exports what has not been exported, and
// returns nil. It is safe to call more than once.
func (m *Metrics) Close() error {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
	return nil
}

func (m *Metrics) run() {
	defer close(m.done)
	for {
		now := time.Now()
		next := time.Unix(0, (m.periodIndex(now)+1)*int64(m.period))
		t := time.NewTimer(next.Sub(now))
		select {
		case <-m.stop:
			t.Stop()
			m.flush(math.MaxInt64)
			return
		case <-t.C:
		}
		m.tick(next)
	}
}

// tick closes every period that ends at or before boundary, exports them and
// evaluates the alarms at boundary.
func (m *Metrics) tick(boundary time.Time) {
	end := m.periodIndex(boundary) // periods with index < end have ended
	m.flush(end)
	var changes []AlarmChange
	m.mu.Lock()
	for _, a := range m.alarms {
		if c, ok := m.evaluate(a, boundary); ok {
			changes = append(changes, c)
		}
	}
	// retention
	oldest := m.periodIndex(boundary.Add(-m.retention))
	for _, s := range m.series {
		for idx := range s.points {
			if idx < oldest {
				delete(s.points, idx)
			}
		}
	}
	m.mu.Unlock()
	for _, c := range changes {
		if c.alarm.OnChange != nil {
			c.alarm.OnChange(c)
		}
		if m.onAlarm != nil {
			m.onAlarm(c)
		}
	}
}

// flush exports the pending datums of periods with index < end.
func (m *Metrics) flush(end int64) {
	if m.export == nil {
		return
	}
	var out []Datum
	m.mu.Lock()
	for s, pm := range m.pending {
		for idx, st := range pm {
			if idx < end {
				out = append(out, m.datum(s, idx, *st))
				delete(pm, idx)
			}
		}
		if len(pm) == 0 {
			delete(m.pending, s)
		}
	}
	m.mu.Unlock()
	if len(out) == 0 {
		return
	}
	slices.SortFunc(out, func(a, b Datum) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(seriesKey(a.Namespace, a.Name, a.Dimensions), seriesKey(b.Namespace, b.Name, b.Dimensions))
	})
	m.export(out)
}

// A *Metrics attaches to a recorder or a trail as an observer.
var _ trail.EventObserver = (*Metrics)(nil)
