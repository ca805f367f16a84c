package trail

import (
	"sync"
	"sync/atomic"
	"time"
)

// The pipeline is a chain of stages, each owning its goroutines and a
// bounded queue, each handing work only downward:
//
//	Record (ingest.go)       validate, stamp, copy into a pooled item
//	  │ r.queue              chan *item (Config.QueueSize)
//	  ▼                      ← a spool stage would sit here (between ingest and batcher)
//	batcher (this file,      selects, encodes each event once, appends to the open batch
//	 batch.go)               of every trail that took it, cuts batches on time or size;
//	  │                      hands history its events (never blocks on it)
//	  ├──► r.history.queue   history worker (delivery.go): batched HistoryStore.Append
//	  ├──► r.compressQ       compress workers (compress.go): gzip + SHA-256 in parallel
//	  ▼ r.chainQ             the same files, in cut order, plus ticks, controls, barriers
//	chain stage (chain.go)   waits for each file's compression, records it in its digest
//	  │                      chain, closes digest periods, signs digests, resumes chains
//	  ▼ sinkWorker.queue     (a fleet digest writer hooks in at chainStage.emitDigest)
//	sink workers             one per (trail, sink): delivery with retries (delivery.go)
//
// Trail-management changes and Flush travel the same path as events, so
// that they take effect between two events in queue order: the batcher
// applies its part and forwards them down the chain queue, where the chain
// stage applies the rest.

// pipe is the batcher's state, owned by the batcher goroutine.
type pipe struct {
	r            *Recorder
	states       []*trailState // trails known to the batcher
	batches      map[batchKey]*batch
	scratch      []byte
	hist         []Event   // events for history, not yet handed off
	nextDeadline time.Time // earliest batch deadline
	nextTick     time.Time // earliest digest period end (tick for the chain stage)
	open         *atomic.Int64
	spoolNext    uint64 // spool: log index after the last event taken
}

// newStages builds the batcher's and the chain stage's state and, in spool
// mode, recovers what the spool holds into both, before either goroutine
// starts.
func (r *Recorder) newStages(initial []*trailState) (*pipe, *chainStage) {
	p := &pipe{r: r, batches: map[batchKey]*batch{}, open: &r.stats.unbatched}
	p.states = append(p.states, initial...)
	cs := &chainStage{r: r, chains: map[chainKey]*chain{}}
	cs.states = append(cs.states, initial...)
	now := time.Now()
	if r.spool != nil {
		r.recoverSpool(p, cs, now)
	}
	for _, ts := range cs.states {
		cs.startChains(ts, now)
	}
	return p, cs
}

// batcher is the goroutine that owns the batches. It exits after the ingest
// queue is closed and drained, once its last files, ticks and history
// events are handed on; it then closes the queues of the stages below it.
func (r *Recorder) batcher(p *pipe) {
	defer func() {
		close(r.compressQ)
		close(r.chainQ)
		r.history.closeQueue()
	}()
	var maint <-chan time.Time
	if r.spool != nil {
		t := time.NewTicker(spoolMaintainEvery)
		defer t.Stop()
		maint = t.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var armedAt time.Time
	p.rearm(timer, &armedAt, time.Now())
	for {
		// History events go to the worker when the ingest queue is empty,
		// but only while the worker is idle: while it appends, they
		// collect into one larger batch (up to histBatchSize), handed over
		// when it reports idle. Fewer, larger Appends keep it up with a
		// fast producer, and a queue of tiny batches never fills up.
		if len(r.queue) == 0 && r.history.queued.Load() == 0 {
			p.handOffHistory(nil)
		}
		var (
			it *item
			ok bool
		)
		select {
		case <-r.history.idle:
			continue
		case it, ok = <-r.queue:
		case <-maint:
			p.down(chainMsg{now: time.Now(), maintain: true, spoolLow: p.spoolLow()})
			continue
		case <-timer.C:
			armedAt = time.Time{}
			now := time.Now()
			p.cutDue(now)
			if !p.nextTick.IsZero() && !now.Before(p.nextTick) {
				p.down(chainMsg{now: now})
			}
			p.rearm(timer, &armedAt, now)
			continue
		}
		if !ok {
			break
		}
		r.progress.Add(1)
		if g := it.grp; g != nil { // spool mode: a committed group, in order
			for i := range g.items {
				p.handle(&g.items[i].it, timer, &armedAt)
			}
			g.recycle()
			continue
		}
		p.handle(it, timer, &armedAt)
		if it.ctl == nil && it.hsync == nil && it.flush == nil {
			r.putItem(it)
		}
	}
	timer.Stop()
	p.handOffHistory(nil)
	now := time.Now()
	p.cutAll(now)
	p.down(chainMsg{now: now, final: true, spoolLow: p.spoolLow()})
}

// handle takes one item off the ingest queue (the caller recycles it).
func (p *pipe) handle(it *item, timer *time.Timer, armedAt *time.Time) {
	switch {
	case it.ctl != nil:
		p.handOffHistory(nil)
		p.control(it.ctl)
		p.rearm(timer, armedAt, time.Now())
	case it.hsync != nil:
		p.handOffHistory(it.hsync)
	case it.flush != nil:
		now := time.Now()
		hist := make(chan struct{})
		p.handOffHistory(hist)
		p.cutAll(now)
		p.down(chainMsg{now: now, barrier: &flushBarrier{done: it.flush, hist: hist}})
		p.rearm(timer, armedAt, now)
	default:
		p.add(it)
		if w := p.wake(); !w.IsZero() && (armedAt.IsZero() || w.Before(*armedAt)) {
			p.rearm(timer, armedAt, time.Now())
		}
	}
}

// spoolLow is the lowest spool log index the batcher still needs: the first
// event of every open batch, and the next event it has not taken yet.
func (p *pipe) spoolLow() uint64 {
	low := p.spoolNext
	for _, b := range p.batches {
		if len(b.ends) > 0 && b.spooled {
			low = min(low, b.first)
		}
	}
	return low
}

// down hands a message to the chain stage (blocking while its queue is
// full, which holds back the batcher and eventually Record).
func (p *pipe) down(m chainMsg) { p.r.chainQ <- m }

// wake is when the batcher must next act on its own.
func (p *pipe) wake() time.Time {
	w := p.nextDeadline
	if w.IsZero() || (!p.nextTick.IsZero() && p.nextTick.Before(w)) {
		w = p.nextTick
	}
	return w
}

// rearm computes the next digest tick (the first period boundary after now
// of any validated, active trail) and arms the timer for the earlier of it
// and the next batch deadline.
func (p *pipe) rearm(t *time.Timer, armedAt *time.Time, now time.Time) {
	p.nextTick = time.Time{}
	for _, ts := range p.states {
		if ts.period == 0 || !ts.active {
			continue
		}
		if b := p.r.boundaryAfter(ts.period, now); p.nextTick.IsZero() || b.Before(p.nextTick) {
			p.nextTick = b
		}
	}
	t.Stop()
	*armedAt = p.wake()
	if armedAt.IsZero() {
		return
	}
	t.Reset(max(time.Until(*armedAt), 0))
}

// handOffHistory passes the collected history events to the history
// worker. Without a mark it does not block on a store: when the worker's
// queue is full the events are dropped and counted (for the default
// in-memory store, which is only ever behind on CPU, after waiting up to
// histWaitMax for room). With a mark (Flush, read-your-writes),
// mark is closed once the worker has appended them and everything before;
// if the queue is full they are handed off from a goroutine, so that a
// blocked store stalls only the caller waiting on mark (bounded by its
// ctx), never the batcher.
func (p *pipe) handOffHistory(mark chan<- struct{}) {
	h := &p.r.history
	if h.queue == nil {
		if mark != nil {
			close(mark)
		}
		return
	}
	if len(p.hist) == 0 && mark == nil {
		return
	}
	b := histBatch{events: p.hist, mark: mark}
	p.hist = h.freeSlice()
	if h.offer(b) || h.inProcess && h.wait(b) {
		return
	}
	n := len(b.events)
	if mark == nil {
		p.r.historyLost(n, "the history queue is full")
		h.appended(n)
		h.recycle(b.events)
		return
	}
	h.queued.Add(int64(n))
	h.senders.Add(1)
	go func() {
		defer h.senders.Done()
		select {
		case h.queue <- b:
		case <-h.ctx.Done():
			p.r.historyLost(n, "the recorder closed")
			h.queued.Add(-int64(n))
			h.appended(n)
			close(mark)
		}
	}()
}

// flushBarrier is a Flush on its way down: done is closed once every sink
// worker has finished the jobs queued before it and history has kept the
// events recorded before it.
type flushBarrier struct {
	done chan<- struct{}
	hist <-chan struct{} // closed once history has the events
}

// barrier closes done once every sink worker has finished the jobs queued
// before it (called by the chain stage).
func (c *chainStage) barrier(fb *flushBarrier) {
	var wg sync.WaitGroup
	for _, ts := range c.states {
		for _, w := range ts.workers {
			wg.Add(1)
			if !w.enqueue(sinkJob{barrier: &wg}) {
				wg.Done()
			}
		}
	}
	ctx := c.r.deliverCtx
	go func() {
		wg.Wait()
		select {
		case <-fb.hist:
		case <-ctx.Done():
		}
		close(fb.done)
	}()
}

func closeWorkers(ws []*sinkWorker) {
	for _, w := range ws {
		close(w.queue)
	}
}

// control carries a trail-management change through the ingest queue, so
// that it takes effect between two events in queue order.
type control struct {
	op      controlOp
	ts      *trailState
	cfg     Trail         // ctlUpdate: the new configuration
	val     *validator    // ctlUpdate: its validator
	workers []*sinkWorker // ctlUpdate: new (started) workers, or nil to keep
	restart bool          // ctlUpdate: end the digest chains
	done    chan struct{}
}

type controlOp int

const (
	ctlAdd controlOp = iota
	ctlStart
	ctlStop
	ctlUpdate
	ctlDelete
)

// control applies the batcher's part of a change (its trail list, the
// trail's batches and configuration) and forwards the change to the chain
// stage, which applies the rest and closes c.done.
func (p *pipe) control(c *control) {
	now := time.Now()
	ts := c.ts
	switch c.op {
	case ctlAdd:
		p.states = append(p.states, ts)
	case ctlStart:
		ts.active = true
	case ctlStop:
		p.cutTrail(ts, now)
		ts.active = false
	case ctlUpdate:
		p.cutTrail(ts, now)
		ts.mu.Lock()
		ts.cfg = c.cfg
		ts.mu.Unlock()
		ts.period = 0
		if c.val != nil {
			ts.period = c.val.period
		}
	case ctlDelete:
		p.cutTrail(ts, now)
		ts.active = false
		for i, s := range p.states {
			if s == ts {
				p.states = append(p.states[:i], p.states[i+1:]...)
				break
			}
		}
	}
	p.down(chainMsg{now: now, ctl: c})
}

// control applies the chain stage's part of a change and closes c.done.
func (c *chainStage) control(ctl *control, now time.Time) {
	defer close(ctl.done)
	ts := ctl.ts
	switch ctl.op {
	case ctlAdd:
		c.states = append(c.states, ts)
	case ctlStart:
		ts.chainActive = true
		ts.noResume = true
		c.startChains(ts, now)
	case ctlStop:
		c.endChains(ts, now)
		ts.chainActive = false
	case ctlUpdate:
		if ctl.restart {
			c.endChains(ts, now)
		}
		if ctl.workers != nil {
			ts.mu.Lock()
			ts.retiredSinks = append(ts.retiredSinks, ts.chainCfg.Sinks...)
			ts.mu.Unlock()
		}
		ts.chainCfg = ctl.cfg
		ts.val = ctl.val
		if ctl.workers != nil {
			closeWorkers(ts.workers)
			ts.workers = ctl.workers
		}
		if ctl.restart {
			c.startChains(ts, now)
		}
	case ctlDelete:
		c.endChains(ts, now)
		ts.chainActive = false
		closeWorkers(ts.workers)
		for i, s := range c.states {
			if s == ts {
				c.states = append(c.states[:i], c.states[i+1:]...)
				break
			}
		}
	}
}

// historyLost counts events history could not keep and reports them.
func (r *Recorder) historyLost(n int, why string) {
	if n == 0 {
		return
	}
	r.stats.histDropped.Add(uint64(n))
	r.report(&HistoryError{Events: n, Reason: why})
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
