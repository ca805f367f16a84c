package trail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Recorder. The zero value of every optional field is a
// documented default; New validates the whole config and fails at start-up
// rather than at delivery time.
type Config struct {
	// AccountID is the 12-digit account stamped as recipientAccountId on
	// events that carry none. Required.
	AccountID string
	// Region is the region stamped as awsRegion on events that carry none,
	// and the home region of every trail. Required.
	Region string
	// Trails select and deliver events. A recorder without trails still
	// validates events and keeps history.
	Trails []Trail
	// History keeps the event history that LookupEvents, Events and Query
	// search. Nil means a bounded in-memory store (a *MemoryHistory sized
	// by HistoryOptions); NoHistory keeps no history. The recorder does not
	// close the store.
	History HistoryStore
	// HistoryOptions select the events that enter history (management
	// events by default) and their retention (90 days by default).
	HistoryOptions HistoryOptions
	// DataResourceTypes are resource types, beyond those named in trails'
	// data selectors and the AWS types S3 object, Lambda function and
	// DynamoDB table, whose events are data events.
	DataResourceTypes []string
	// QueueSize is the number of events the ingest queue holds (default 4096).
	QueueSize int
	// SinkQueueSize is the number of log files each sink's queue holds
	// (default 256). A full sink queue holds back the batcher, and so,
	// eventually, Record; other sinks keep delivering meanwhile.
	SinkQueueSize int
	// Overflow is what Record does when the ingest queue is full (default
	// Block).
	Overflow OverflowPolicy
	// Retry controls redelivery of failed files.
	Retry RetryPolicy
	// OnError, if set, receives every *DeliveryError (after each failed
	// attempt) and every dropped event's error. It is called from the
	// recorder's goroutines and must not block for long.
	OnError func(error)
	// AuditSource is the eventSource of the events that record trail
	// management calls (CreateTrail, StopLogging, …); default
	// "cloudtrail.amazonaws.com". "-" turns that self-audit off.
	AuditSource string
	// Logger receives warnings (failed deliveries, dropped events, spool
	// damage). Nil means slog.Default(); to discard warnings, say so with
	// slog.New(slog.DiscardHandler).
	Logger *slog.Logger
	// Spool, if set, makes Record durable: it returns nil only once the
	// event is in a write-ahead log on disk, from which a restarted
	// recorder delivers what no sink had yet. Nil keeps batches in memory
	// only (a crash or a missing Close loses them). See Spool.
	Spool *Spool
}

// Trail is one named stream of selected events and the sinks that store it.
type Trail struct {
	// Name is the trail name: 3–128 characters of letters, digits, '.', '_'
	// and '-', starting and ending with a letter or digit. Required.
	Name string
	// Bucket is the S3 bucket the files are meant for. It is recorded in
	// LogFile.Bucket (and in digests, which require it).
	Bucket string
	// Prefix is the S3 key prefix (at most 200 characters, no leading or
	// trailing '/').
	Prefix string
	// MultiRegion makes the trail take events of every region; otherwise it
	// takes only events of Config.Region.
	MultiRegion bool
	// Organization, an organization ID ("o-" and 10–32 lower-case letters or
	// digits), makes this an organization trail: it takes events of every
	// account and writes keys with the organization ID after AWSLogs/.
	// Otherwise the trail takes only events of Config.AccountID.
	Organization string

	// Management selects management events by their readOnly flag. The zero
	// value, ReadWriteAll, takes all of them; ReadWriteNone takes none.
	Management ReadWriteType
	// ExcludeManagementEventSources drops management events of these event
	// sources (for example "kms.amazonaws.com").
	ExcludeManagementEventSources []string
	// Data selects data events by resource type and ARN.
	Data []DataResource
	// EventSelectors are CloudTrail's basic event selectors (at most five),
	// an alternative to Management, ExcludeManagementEventSources and Data
	// for configurations kept in CloudTrail's shape.
	EventSelectors []EventSelector
	// Advanced replaces the basic selectors with advanced event selectors.
	// Only one of the three forms (Management/ExcludeManagementEventSources/
	// Data, EventSelectors, Advanced) may be set.
	Advanced []AdvancedSelector

	// Validation, if set, writes a signed digest chain for the trail's log
	// files (CloudTrail's log file integrity validation). At least one sink
	// must then implement DigestSink; digests go to those that do.
	Validation *Validation

	// Sinks store the trail's log files; at least one is required.
	Sinks []Sink
	// Interval is how long a batch collects events before it is cut into a
	// log file (default 5 minutes).
	Interval time.Duration
	// MaxRecords cuts a file early when it holds this many records (default
	// 10000).
	MaxRecords int
	// MaxBytes cuts a file early before its uncompressed body would exceed
	// this size (default 32 MiB).
	MaxBytes int
}

// Defaults.
const (
	DefaultInterval      = 5 * time.Minute
	DefaultMaxRecords    = 10000
	DefaultMaxBytes      = 32 << 20
	DefaultQueueSize     = 4096
	DefaultSinkQueueSize = 256
	maxTrails            = 64
)

// Stats are the recorder's counters since New.
type Stats struct {
	Recorded         uint64 // events accepted by Record
	Invalid          uint64 // events refused with a *ValidationError
	Unselected       uint64 // accepted events no trail selected (history may still keep them)
	Overloaded       uint64 // events refused with ErrOverloaded (Reject policy)
	Dropped          uint64 // events dropped (Drop policy)
	FilesDelivered   uint64 // successful (file, sink) deliveries
	FilesFailed      uint64 // (file, sink) deliveries given up
	Retries          uint64 // failed attempts that were retried
	BytesDelivered   uint64 // compressed bytes delivered, summed over sinks
	DigestsDelivered uint64 // successful (digest, sink) deliveries
	DigestsFailed    uint64 // (digest, sink) deliveries given up
	HistoryErrors    uint64 // failed HistoryStore.Append calls
	Queued           int    // events waiting in the ingest queue now
}

type stats struct {
	recorded, invalid, unselected, overloaded, dropped            atomic.Uint64
	filesDelivered, filesFailed, retries, bytesDelivered, histErr atomic.Uint64
	digestsDelivered, digestsFailed                               atomic.Uint64
}

// Recorder records events and delivers them to trails. It is safe for
// concurrent use. Create it with New and release it with Close.
type Recorder struct {
	cfg       Config
	retry     RetryPolicy
	selectors atomic.Pointer[selectorSet]

	admin    sync.Mutex    // serializes trail management
	registry []*trailState // current trails, in creation order (under admin)
	every    []*trailState // every trail ever created, for Close (under admin)

	queue     chan item
	mu        sync.RWMutex // held for reading while sending on queue
	closed    bool         // under mu
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when the pipeline goroutine exits

	deliverCtx    context.Context // ends when Close gives up
	cancelDeliver context.CancelFunc
	workers       sync.WaitGroup

	arenas sync.Pool
	stats  stats
	start  time.Time // digest period grid origin

	chainMu     sync.Mutex
	chainStates map[chainKey]ChainState

	history historyState

	spool *spool // nil without Config.Spool
	lost  losses // what delivery gave up on, for Close
}

// item travels through the ingest queue: an event with the trails that
// selected it, or a flush request.
type item struct {
	ev    Event
	set   *selectorSet // the set that computed mask
	mask  uint64
	hist  bool
	flush chan<- struct{}
	ctl   *control

	// spool mode
	idx    uint64 // log index of the event record
	enc    []byte // the encoded record (a sub-slice of the committed group)
	encLen int
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ipv4RE    = regexp.MustCompile(`^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$`)
	trailRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	adjRE     = regexp.MustCompile(`[._-]{2}`)
)

// ValidateTrailName reports whether name follows CloudTrail's trail-name
// rules.
func ValidateTrailName(name string) error {
	switch {
	case len(name) < 3 || len(name) > 128:
		return fmt.Errorf("trail name %q: must be 3 to 128 characters", name)
	case !trailRE.MatchString(name):
		return fmt.Errorf("trail name %q: only letters, digits, '.', '_' and '-', starting and ending with a letter or digit", name)
	case adjRE.MatchString(name):
		return fmt.Errorf("trail name %q: no two of '.', '_', '-' may be adjacent", name)
	case ipv4RE.MatchString(name):
		return fmt.Errorf("trail name %q: must not look like an IP address", name)
	}
	return nil
}

func validatePrefix(p string) error {
	if len(p) > 200 {
		return fmt.Errorf("prefix longer than 200 characters")
	}
	if p == "" {
		return nil
	}
	if p[0] == '/' || p[len(p)-1] == '/' {
		return fmt.Errorf("prefix %q: must not start or end with '/'", p)
	}
	for _, seg := range splitSlash(p) {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("prefix %q: empty, '.' or '..' path segment", p)
		}
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("prefix %q: control character or backslash", p)
		}
	}
	return nil
}

func splitSlash(s string) []string {
	var out []string
	for {
		i := indexByte(s, '/')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// New validates cfg, starts the recorder's goroutines and returns it. Every
// configuration error wraps ErrInvalidConfig.
func New(cfg Config) (*Recorder, error) {
	if !accountRE.MatchString(cfg.AccountID) {
		return nil, configErr("AccountID %q: want 12 digits", cfg.AccountID)
	}
	if !regionRE.MatchString(cfg.Region) || len(cfg.Region) > 64 {
		return nil, configErr("Region %q: want lower-case letters, digits and '-', such as us-east-1", cfg.Region)
	}
	if cfg.QueueSize < 0 || cfg.SinkQueueSize < 0 {
		return nil, configErr("negative queue size")
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.SinkQueueSize == 0 {
		cfg.SinkQueueSize = DefaultSinkQueueSize
	}
	if cfg.Overflow < Block || cfg.Overflow > Drop {
		return nil, configErr("unknown overflow policy %d", cfg.Overflow)
	}
	if cfg.Retry.MaxAttempts < UnlimitedAttempts {
		return nil, configErr("Retry.MaxAttempts %d: want a positive count, 0 (the default) or UnlimitedAttempts", cfg.Retry.MaxAttempts)
	}
	var spoolCfg Spool
	if cfg.Spool != nil {
		c, err := cfg.Spool.withDefaults()
		if err != nil {
			return nil, err
		}
		spoolCfg = c
		cfg.Spool = &spoolCfg
	}
	r := &Recorder{
		cfg:     cfg,
		retry:   cfg.Retry.withDefaults(cfg.Spool != nil),
		queue:   make(chan item, cfg.QueueSize),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		start:   time.Now().UTC().Truncate(time.Second),

		chainStates: map[chainKey]ChainState{},
	}
	r.arenas.New = func() any { return new(arena) }
	if err := r.setupHistory(); err != nil {
		return nil, err
	}
	r.deliverCtx, r.cancelDeliver = context.WithCancel(context.Background())
	names := map[string]bool{}
	for i := range cfg.Trails {
		if names[cfg.Trails[i].Name] {
			return nil, configErr("trail %q: duplicate trail name", cfg.Trails[i].Name)
		}
		names[cfg.Trails[i].Name] = true
		ts, err := r.newTrailState(cfg.Trails[i])
		if err != nil {
			return nil, configErr("trail %d: %v", i, err)
		}
		ts.logging = true
		ts.active = true
		ts.startTime = r.start
		r.registry = append(r.registry, ts)
	}
	r.every = append(r.every, r.registry...)
	if err := r.rebuildSet(); err != nil {
		return nil, err
	}
	if cfg.Spool != nil {
		s, err := r.openSpool(spoolCfg)
		if err != nil {
			return nil, err
		}
		r.spool = s
	}
	for _, ts := range r.registry {
		ts.startWorkers()
	}
	go r.pipeline(r.registry)
	if r.spool != nil {
		r.spool.start()
	}
	r.startPruning()
	return r, nil
}

// newTrailState validates t (filling its defaults) and builds its state,
// with sink workers not yet started.
func (r *Recorder) newTrailState(t Trail) (*trailState, error) {
	if err := r.checkTrail(&t); err != nil {
		return nil, err
	}
	ts := &trailState{name: t.Name, cfg: t}
	if v := t.Validation; v != nil {
		val, err := newValidator(v, &ts.cfg)
		if err != nil {
			return nil, fmt.Errorf("trail %q: %w", t.Name, err)
		}
		ts.val = val
	}
	ts.workers = r.newWorkers(ts, t.Sinks)
	return ts, nil
}

func (r *Recorder) newWorkers(ts *trailState, sinks []Sink) []*sinkWorker {
	ws := make([]*sinkWorker, 0, len(sinks))
	for _, s := range sinks {
		ws = append(ws, &sinkWorker{rec: r, trail: ts, sink: s, name: sinkName(s), queue: make(chan sinkJob, r.cfg.SinkQueueSize), pkick: make(chan struct{}, 1)})
	}
	return ws
}

// checkTrail validates a trail's configuration and fills in its defaults.
func (r *Recorder) checkTrail(t *Trail) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("trail %q: "+format, append([]any{t.Name}, args...)...)
	}
	if err := ValidateTrailName(t.Name); err != nil {
		return err
	}
	if err := validatePrefix(t.Prefix); err != nil {
		return fail("%v", err)
	}
	if t.Organization != "" && !orgRE.MatchString(t.Organization) {
		return fail("Organization %q: want o- and 10 to 32 lower-case letters or digits", t.Organization)
	}
	if len(t.Sinks) == 0 {
		return fail("no sinks")
	}
	for j, s := range t.Sinks {
		if s == nil {
			return fail("sink %d is nil", j)
		}
	}
	if t.Interval < 0 || t.MaxRecords < 0 || t.MaxBytes < 0 {
		return fail("negative Interval, MaxRecords or MaxBytes")
	}
	if t.Interval == 0 {
		t.Interval = DefaultInterval
	}
	if t.MaxRecords == 0 {
		t.MaxRecords = DefaultMaxRecords
	}
	if t.MaxBytes == 0 {
		t.MaxBytes = DefaultMaxBytes
	}
	if _, _, _, err := compileSelectors(t); err != nil {
		return fail("%v", err)
	}
	return nil
}

// rebuildSet compiles the selectors of the logging trails into a new set and
// publishes it. The caller holds r.admin (or is New).
func (r *Recorder) rebuildSet() error {
	set := &selectorSet{dataTypes: map[string]struct{}{
		ResourceS3Object: {}, ResourceLambdaFunction: {}, ResourceDynamoDBTable: {},
	}}
	for _, t := range r.cfg.DataResourceTypes {
		set.dataTypes[t] = struct{}{}
	}
	for _, ts := range r.registry {
		basic, adv, types, err := compileSelectors(&ts.cfg)
		if err != nil {
			return configErr("trail %q: %v", ts.cfg.Name, err)
		}
		for _, ty := range types {
			set.dataTypes[ty] = struct{}{}
		}
		if !ts.logging {
			continue
		}
		if len(set.trails) == maxTrails {
			return configErr("more than %d logging trails", maxTrails)
		}
		ct := compiledTrail{basic: basic, advanced: adv, useAdvanced: ts.cfg.Advanced != nil}
		if !ts.cfg.MultiRegion {
			ct.region = r.cfg.Region
		}
		if ts.cfg.Organization == "" {
			ct.account = r.cfg.AccountID
		}
		set.trails = append(set.trails, ct)
		set.states = append(set.states, ts)
	}
	r.selectors.Store(set)
	return nil
}

// Record validates ev, stamps what is missing on a copy, selects the trails
// that take it and hands it to the batcher. It does not wait for delivery.
// The caller may reuse ev once Record returns.
//
// Errors: a *ValidationError for a malformed event; ErrClosed after Close;
// ErrOverloaded when the queue is full under the Reject policy; ctx's error
// when ctx ends while Record waits for room under the Block policy.
func (r *Recorder) Record(ctx context.Context, ev *Event) error {
	if ev == nil {
		r.stats.invalid.Add(1)
		return &ValidationError{Field: "event", Reason: "nil event"}
	}
	var it item
	a := r.arenas.Get().(*arena)
	err := r.prepare(&it.ev, ev, a)
	r.arenas.Put(a)
	if err != nil {
		r.stats.invalid.Add(1)
		return err
	}
	set := r.selectors.Load()
	set.categorize(&it.ev)
	it.set = set
	it.mask = set.match(&it.ev)
	it.hist = r.history.wants(&it.ev)
	if it.mask == 0 && !it.hist {
		select {
		case <-r.closing: // after Close, unselected events are refused too
			return ErrClosed
		default:
		}
		r.stats.recorded.Add(1)
		r.stats.unselected.Add(1)
		return nil
	}
	if r.spool != nil && it.mask != 0 {
		return r.spool.record(ctx, &it)
	}
	err = r.enqueue(ctx, &it)
	if err == nil && it.mask == 0 {
		r.stats.unselected.Add(1) // for history only
	}
	return err
}

func (r *Recorder) enqueue(ctx context.Context, it *item) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	select {
	case r.queue <- *it:
		r.stats.recorded.Add(1)
		return nil
	default:
	}
	switch r.cfg.Overflow {
	case Reject:
		r.stats.overloaded.Add(1)
		return ErrOverloaded
	case Drop:
		r.stats.dropped.Add(1)
		r.report(errDropped)
		return nil
	}
	select {
	case r.queue <- *it:
		r.stats.recorded.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.closing:
		return ErrClosed
	}
}

var errDropped = fmt.Errorf("%w: event dropped (overflow policy Drop)", ErrOverloaded)

func (r *Recorder) report(err error) {
	if r.cfg.OnError != nil {
		r.cfg.OnError(err)
	}
}

func (r *Recorder) reportDelivery(de *DeliveryError) {
	r.report(de)
	{
		r.logger().Warn("trail: delivery failed", "trail", de.Trail, "sink", de.Sink, "key", de.Key,
			"attempt", de.Attempt, "final", de.Final, "err", de.Err)
	}
}

// Flush cuts every open batch into a log file and waits until every file cut
// so far has been delivered to (or given up by) every sink, or ctx ends.
// Events recorded before Flush was called are included.
func (r *Recorder) Flush(ctx context.Context) error {
	done := make(chan struct{})
	if err := r.sendItem(ctx, item{flush: done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendItem puts a control item (flush or trail change) on the ingest queue,
// whatever the overflow policy: it waits for room, bounded by ctx.
func (r *Recorder) sendItem(ctx context.Context, it item) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	select {
	case r.queue <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.closing:
		return ErrClosed
	}
}

// Close stops accepting events (Record then returns ErrClosed), cuts the open
// batches, delivers every pending file, and closes the sinks that implement
// io.Closer. If ctx ends first, pending retries are abandoned (reported as
// final *DeliveryErrors) and Close returns ctx's error. Close is idempotent;
// later calls wait for the first to finish.
func (r *Recorder) Close(ctx context.Context) error {
	first := false
	r.closeOnce.Do(func() {
		first = true
		close(r.closing)
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		if r.spool != nil {
			r.spool.shutdown() // commits what Record took, then stops sending
		}
		close(r.queue)
	})
	finished := make(chan struct{})
	go func() {
		<-r.done
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = fmt.Errorf("trail: close: %w (undelivered files are reported to OnError)", ctx.Err())
		r.cancelDeliver()
		<-finished
	}
	if first {
		r.stopPruning()
		r.cancelDeliver()
		err = errors.Join(err, r.lostErr(), r.closeSinks())
		if r.spool != nil {
			err = errors.Join(err, r.spool.close())
		}
	}
	return err
}

func (r *Recorder) closeSinks() error {
	var errs []error
	seen := map[any]bool{}
	r.admin.Lock()
	every := r.every
	r.admin.Unlock()
	for _, ts := range every {
		for _, s := range ts.allSinks() {
			c, ok := s.(interface{ Close() error })
			if !ok {
				continue
			}
			if reflect.TypeOf(s).Comparable() {
				if seen[s] {
					continue
				}
				seen[s] = true
			}
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("trail: close sink %s: %w", sinkName(s), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Stats returns a snapshot of the recorder's counters.
func (r *Recorder) Stats() Stats {
	s := &r.stats
	return Stats{
		Recorded: s.recorded.Load(), Invalid: s.invalid.Load(), Unselected: s.unselected.Load(),
		Overloaded: s.overloaded.Load(), Dropped: s.dropped.Load(),
		FilesDelivered: s.filesDelivered.Load(), FilesFailed: s.filesFailed.Load(), Retries: s.retries.Load(),
		BytesDelivered: s.bytesDelivered.Load(), DigestsDelivered: s.digestsDelivered.Load(),
		DigestsFailed: s.digestsFailed.Load(), HistoryErrors: s.histErr.Load(), Queued: len(r.queue),
	}
}
