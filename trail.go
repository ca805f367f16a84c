package trail

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
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
	// HistoryDropped counts events history did not keep: its queue was
	// full (the store was slower than Record), Append failed, or Close
	// gave up on the store. Each loss is also reported to Config.OnError
	// as a *HistoryError.
	HistoryDropped uint64
	Queued         int // events waiting in the ingest queue now

	// Spool counters: zero without Config.Spool.

	// SpoolBytes is the size of the spool's log on disk now; it shrinks
	// as files are stored by every sink and the log is truncated.
	SpoolBytes int64
	// SpoolEvents counts the events written to the spool since New (each
	// one acknowledged by Record once its write, and under SyncGroupCommit
	// its fsync, was done).
	SpoolEvents uint64
	// SpoolUnsent is the number of events in the spool that some sink has
	// not stored yet: in open batches, or in files waiting for (or being
	// retried by) a sink. An event selected by two trails counts twice.
	SpoolUnsent int64
	// SpoolSyncs counts the fsyncs of the spool's log.
	SpoolSyncs uint64
	// SpoolCorrupt counts the damaged byte ranges New found in the spool,
	// each reported as a *SpoolCorruptError.
	SpoolCorrupt uint64
}

type stats struct {
	recorded, invalid, unselected, overloaded, dropped            atomic.Uint64
	filesDelivered, filesFailed, retries, bytesDelivered, histErr atomic.Uint64
	digestsDelivered, digestsFailed, histDropped                  atomic.Uint64
	spoolEvents, spoolCorrupt                                     atomic.Uint64
	unbatched                                                     atomic.Int64 // events in open batches
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

	queue      chan *item     // ingest → batcher
	compressQ  chan *fileJob  // batcher → compress workers
	chainQ     chan chainMsg  // batcher → chain stage, in cut order
	compressWG sync.WaitGroup // compress workers
	mu         sync.RWMutex   // held for reading while sending on queue
	closed     bool           // under mu
	closing    chan struct{}
	closeOnce  sync.Once
	closeDone  chan struct{} // closed when the first Close returns
	done       chan struct{} // closed when the chain stage exits (after the sink workers)

	deliverCtx    context.Context // ends when Close gives up
	cancelDeliver context.CancelFunc
	workers       sync.WaitGroup

	arenas   sync.Pool
	items    sync.Pool     // *item
	progress atomic.Uint64 // steps completed by the stages (for Close)
	external atomic.Int64  // calls into sinks and stores running now (for Close)
	stats    stats
	start    time.Time // digest period grid origin

	chainMu     sync.Mutex
	chainStates map[chainKey]ChainState

	history historyState

	spool *spool // nil without Config.Spool
	lost  losses // what delivery gave up on, for Close

	subs subscriptions // Subscribe and observers (subscribe.go)
}

// queueCap is the ingest queue's capacity: QueueSize events, or in spool
// mode a few committed groups (their events wait on disk meanwhile).
func queueCap(cfg Config) int {
	if cfg.Spool != nil {
		return 4
	}
	return cfg.QueueSize
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
	if cfg.Instance == "" {
		cfg.Instance = DefaultInstance()
	}
	if err := validateInstance(cfg.Instance); err != nil {
		return nil, err
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
		cfg:       cfg,
		retry:     cfg.Retry.withDefaults(cfg.Spool != nil),
		queue:     make(chan *item, queueCap(cfg)),
		compressQ: make(chan *fileJob, 2*compressWorkers()),
		chainQ:    make(chan chainMsg, 4*compressWorkers()+64),
		closing:   make(chan struct{}),
		closeDone: make(chan struct{}),
		done:      make(chan struct{}),
		start:     time.Now().UTC().Truncate(time.Second),

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
		ts.chainActive = true
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
	for range compressWorkers() {
		r.compressWG.Add(1)
		go r.compressor()
	}
	go r.runHistory()
	p, cs := r.newStages(r.registry)
	go r.chainLoop(cs)
	go r.batcher(p)
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
	ts := &trailState{name: t.Name, cfg: t, chainCfg: t}
	if v := t.Validation; v != nil {
		val, err := newValidator(v, &ts.cfg)
		if err != nil {
			return nil, fmt.Errorf("trail %q: %w", t.Name, err)
		}
		ts.val = val
		ts.period = val.period
		if val.fleet != nil {
			ts.fleet = newFleetWriter(r, ts)
		}
	}
	ts.workers = r.newWorkers(ts, t.Sinks)
	return ts, nil
}

func (r *Recorder) newWorkers(ts *trailState, sinks []Sink) []*sinkWorker {
	ws := make([]*sinkWorker, 0, len(sinks))
	for _, s := range sinks {
		ws = append(ws, &sinkWorker{rec: r, trail: ts, sink: s, name: sinkName(s), queue: make(chan sinkJob, r.cfg.SinkQueueSize), pkick: make(chan struct{}, 1)})
	}
	ts.mu.Lock()
	ts.allWorkers = append(ts.allWorkers, ws...)
	ts.mu.Unlock()
	return ws
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
		insights, err := compileInsights(ts.cfg.InsightSelectors)
		if err != nil {
			return configErr("trail %q: %v", ts.cfg.Name, err)
		}
		ct := compiledTrail{basic: basic, advanced: adv, useAdvanced: ts.cfg.Advanced != nil, insights: insights}
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
	if err := r.unusable(); err != nil {
		return err
	}
	done := make(chan struct{})
	if err := r.sendItem(ctx, &item{flush: done}); err != nil {
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
func (r *Recorder) sendItem(ctx context.Context, it *item) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	if r.spool != nil {
		r.spool.pass(it) // in order with the spooled events
		return nil
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
// batches, delivers every pending file, writes the final digests, lets
// history keep what it was given, and closes the sinks that implement
// io.Closer.
//
// Close returns by ctx's deadline (plus a few milliseconds) whatever a sink
// or the history store does: when ctx ends first, pending retries are
// abandoned (reported as final *DeliveryErrors), the store's Append ctx is
// cancelled, and Close returns a *CloseError that wraps ctx's error and says
// what was not delivered (per sink: files and records; history: events not
// kept). A sink whose Deliver ignores its ctx keeps its goroutine until
// Deliver returns, and is then not closed. Close is idempotent; later calls
// wait for the first to finish (bounded by their ctx) and return nil.
func (r *Recorder) Close(ctx context.Context) error {
	if err := r.unusable(); err != nil {
		return err
	}
	first := false
	var lost0 lostCounts
	r.closeOnce.Do(func() {
		first = true
		// Before anything stops: what the stages drop from here on
		// (such as the batcher's last history batch) is Close's to report.
		lost0 = r.lostSnapshot()
		close(r.closing)
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		if r.spool != nil {
			r.spool.shutdown() // commits what Record took, then stops sending
		}
		close(r.queue)
		r.subs.closeAll()
	})
	if !first {
		select {
		case <-r.closeDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer close(r.closeDone)
	finished := make(chan struct{})
	go func() {
		<-r.done
		<-r.history.wdone
		r.compressWG.Wait()
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		r.cancelDeliver()
		r.history.cancel()
		// Give the stages a moment to see the cancellation: a sink or
		// store that honours ctx returns at once, and the stages then
		// drain quickly. Wait while they make progress (bounded), then
		// report what is still held.
		r.waitProgress(finished)
		err = r.closeError(ctx.Err(), lost0)
	}
	r.stopPruning()
	err = errors.Join(err, r.closeFleets(ctx, false))
	r.cancelDeliver()
	r.history.cancel()
	err = errors.Join(err, r.lostErr(), r.closeSinks())
	if r.spool != nil {
		err = errors.Join(err, r.spool.close())
	}
	return err
}

// After its ctx ended and it cancelled delivery, Close waits for the
// stages to finish, but not for a sink or store that ignores the
// cancellation: it stops waiting once no stage has made progress for
// closeIdle while a call into a sink or store is running, and in any case
// after closeGraceMax.
const (
	closeIdle     = 3 * time.Millisecond
	closeGraceMax = 200 * time.Millisecond
)

// waitProgress waits until finished is closed, the stages make no progress
// for closeIdle while some sink or store call is running, or closeGraceMax
// has passed.
func (r *Recorder) waitProgress(finished <-chan struct{}) {
	t := time.NewTimer(closeIdle)
	defer t.Stop()
	deadline := time.Now().Add(closeGraceMax)
	last := r.progress.Load()
	for {
		select {
		case <-finished:
			return
		case <-t.C:
		}
		now := r.progress.Load()
		if (now == last && r.external.Load() > 0) || !time.Now().Before(deadline) {
			return
		}
		last = now
		t.Reset(closeIdle)
	}
}

// lostCounts are the cumulative losses of each sink worker.
type lostCounts map[*sinkWorker][3]int64

func (r *Recorder) allWorkers() []*sinkWorker {
	r.admin.Lock()
	every := r.every
	r.admin.Unlock()
	var ws []*sinkWorker
	for _, ts := range every {
		ts.mu.Lock()
		ws = append(ws, ts.allWorkers...)
		ts.mu.Unlock()
	}
	return ws
}

func (r *Recorder) lostSnapshot() lostCounts {
	m := lostCounts{}
	for _, w := range r.allWorkers() {
		m[w] = [3]int64{w.lostFiles.Load(), w.lostRecords.Load(), w.lostDigests.Load()}
	}
	m[nil] = [3]int64{int64(r.stats.histDropped.Load())}
	return m
}

// closeError describes what Close could not deliver: for every sink, what
// it still holds, what the stages above it still hold for it, and what it
// gave up on since Close began; and the events history did not keep.
func (r *Recorder) closeError(cause error, lost0 lostCounts) *CloseError {
	e := &CloseError{Err: cause}
	for _, w := range r.allWorkers() {
		l0 := lost0[w]
		b := SinkBacklog{
			Trail:   w.trail.name,
			Sink:    w.name,
			Files:   int(w.pendingFiles.Load() + w.lostFiles.Load() - l0[0] + w.trail.inflightFiles.Load()),
			Records: int(w.pendingRecords.Load() + w.lostRecords.Load() - l0[1] + w.trail.inflightRecords.Load()),
			Digests: int(w.pendingDigests.Load() + w.lostDigests.Load() - l0[2]),
		}
		if b.Files > 0 || b.Digests > 0 {
			e.Sinks = append(e.Sinks, b)
		}
	}
	e.Events = len(r.queue) + int(r.stats.unbatched.Load())
	e.HistoryEvents = int(r.history.queued.Load()) + int(int64(r.stats.histDropped.Load())-lost0[nil][0])
	return e
}

// closeSinks closes the sinks that implement io.Closer, except those with a
// Deliver still running (one that ignored its ctx after Close gave up).
func (r *Recorder) closeSinks() error {
	var errs []error
	seen := map[any]bool{}
	for _, w := range r.allWorkers() {
		if !w.exited.Load() && reflect.TypeOf(w.sink).Comparable() {
			seen[w.sink] = true // busy: not closed
		}
	}
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
	if r.unusable() != nil {
		return Stats{}
	}
	s := &r.stats
	st := Stats{
		Recorded: s.recorded.Load(), Invalid: s.invalid.Load(), Unselected: s.unselected.Load(),
		Overloaded: s.overloaded.Load(), Dropped: s.dropped.Load(),
		FilesDelivered: s.filesDelivered.Load(), FilesFailed: s.filesFailed.Load(), Retries: s.retries.Load(),
		BytesDelivered: s.bytesDelivered.Load(), DigestsDelivered: s.digestsDelivered.Load(),
		DigestsFailed: s.digestsFailed.Load(), HistoryErrors: s.histErr.Load(),
		HistoryDropped: s.histDropped.Load(), Queued: len(r.queue),
	}
	if sp := r.spool; sp != nil {
		st.SpoolBytes = sp.log.Size()
		st.SpoolEvents = s.spoolEvents.Load()
		st.SpoolUnsent = s.unbatched.Load() + sp.unsentInFiles()
		st.SpoolSyncs = sp.log.Syncs()
		st.SpoolCorrupt = s.spoolCorrupt.Load()
	}
	return st
}
